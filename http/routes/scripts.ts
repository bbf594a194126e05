import { z } from 'zod';
import { SAVED_SCRIPT_LIMITS, toScriptView } from '../../system/domain/scripts.js';
import type { ScriptService } from '../../system/services/scripts.js';
import { parseInput } from '../errors.js';
import { requireUser } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { pathParam } from './params.js';

/** POST /scripts body. Whether lang/lang_version exist is the service's call (it names the field). */
export const CreateScriptBody = z.object({
  name: z.string().trim().min(1).max(SAVED_SCRIPT_LIMITS.nameChars),
  script: z.string().max(SAVED_SCRIPT_LIMITS.scriptChars),
  lang: z.string().min(1),
  lang_version: z.string().min(1),
  description: z.string().max(SAVED_SCRIPT_LIMITS.descriptionChars).nullable().optional(),
});

/** PUT /scripts/{script_id} body: any subset of the fields. */
export const UpdateScriptBody = CreateScriptBody.partial();

const ScriptResponse = z.object({
  script_id: z.string(),
  name: z.string(),
  script: z.string(),
  lang: z.string(),
  lang_version: z.string(),
  description: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
const ScriptList = z.object({ scripts: z.array(ScriptResponse) });

/** What the saved-scripts API group needs. */
export interface ScriptRoutesDeps {
  scripts: ScriptService;
}

/** The saved-scripts API group: a signed-in user's own scripts (create, list, read, update, delete). */
export function scriptRoutes(deps: ScriptRoutesDeps): RouteGroup {
  const { scripts } = deps;
  const base = '/api/v1/scripts';
  const doc = { tag: 'scripts', auth: 'user' as const };
  return (router) => {
    router.post(
      base,
      async (ctx) => {
        const user = requireUser(ctx);
        const body = parseInput(CreateScriptBody, await ctx.body.json());
        ctx.json(200, toScriptView(await scripts.create(user.userId, body)));
      },
      { ...doc, summary: 'Save a new script', body: CreateScriptBody, response: ScriptResponse },
    );

    router.get(
      base,
      async (ctx) => {
        const user = requireUser(ctx);
        ctx.json(200, { scripts: (await scripts.list(user.userId)).map(toScriptView) });
      },
      { ...doc, summary: "List the caller's saved scripts, most recently changed first", response: ScriptList },
    );

    router.get(
      `${base}/{script_id}`,
      async (ctx) => {
        const user = requireUser(ctx);
        ctx.json(200, toScriptView(await scripts.get(user.userId, pathParam(ctx, 'script_id'))));
      },
      { ...doc, summary: 'Read one of your saved scripts (404 for anyone else)', response: ScriptResponse },
    );

    router.put(
      `${base}/{script_id}`,
      async (ctx) => {
        const user = requireUser(ctx);
        const body = parseInput(UpdateScriptBody, await ctx.body.json());
        ctx.json(200, toScriptView(await scripts.update(user.userId, pathParam(ctx, 'script_id'), body)));
      },
      { ...doc, summary: 'Change one of your saved scripts', body: UpdateScriptBody, response: ScriptResponse },
    );

    router.delete(
      `${base}/{script_id}`,
      async (ctx) => {
        const user = requireUser(ctx);
        await scripts.remove(user.userId, pathParam(ctx, 'script_id'));
        ctx.send(204, null);
      },
      { ...doc, summary: 'Delete one of your saved scripts', status: 204 },
    );
  };
}
