import { z } from 'zod';
import type { SubmitRequest } from '../../system/services/types.js';

/** Longest script POST /execute accepts, in characters. */
export const MAX_SCRIPT_CHARS = 50_000;

/** POST /execute body. Whether lang/lang_version exist is the service's call (it names the field). */
export const ExecuteBody = z.object({
  script: z.string().max(MAX_SCRIPT_CHARS),
  lang: z.string().min(1),
  lang_version: z.string().min(1),
});
export type ExecuteBody = z.infer<typeof ExecuteBody>;

/** Headers POST /execute reads, named as the client sends them. */
export const ExecuteHeaders = z.object({
  'Idempotency-Key': z.string().min(1).max(255).optional(),
});
export type ExecuteHeaders = z.infer<typeof ExecuteHeaders>;

/** Wire → service: the submit request for a validated body and headers. */
export function toSubmitRequest(body: ExecuteBody, headers: ExecuteHeaders): SubmitRequest {
  const key = headers['Idempotency-Key'];
  return { script: body.script, lang: body.lang, lang_version: body.lang_version, ...(key ? { idempotencyKey: key } : {}) };
}

/** POST /executions/{id}/cancel body; the whole body may be omitted. */
export const CancelBody = z
  .object({ reason: z.string().max(1000).optional() })
  .optional()
  .transform((body) => ({ reason: body?.reason ?? 'User requested cancellation' }));
export type CancelBody = z.output<typeof CancelBody>;
