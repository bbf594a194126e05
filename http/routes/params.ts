import type { HttpContext } from '../context.js';

/** A path parameter the matched route pattern declares. */
export function pathParam(ctx: HttpContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw new Error(`route ${ctx.route ?? '?'} has no parameter '${name}'`);
  return value;
}
