import type { ExecutionService } from '../../system/services/types.js';
import { parseInput } from '../errors.js';
import { requireAdmin, requireUser } from '../guards.js';
import type { Router } from '../router.js';
import { EventsQuery, eventsQueryInput } from '../schemas/events.js';
import {
  CancelBody,
  CancelResponseSchema,
  DeleteResponseSchema,
  ExampleScriptsSchema,
  ExecuteBody,
  ExecuteHeaders,
  ExecutionResultSchema,
  ExecutionSummarySchema,
  K8sLimitsSchema,
  StdinBody,
  StdinResponseSchema,
  StoredEventsSchema,
  SubmitResponseSchema,
  UserExecutionsQuery,
  executionPageSchema,
  queryRecord,
  toListQuery,
  toStdinRequest,
  toSubmitRequest,
} from '../schemas/executions.js';
import { pathParam } from './params.js';

/** What the executions API group needs. */
export interface ExecutionRoutesDeps {
  executions: ExecutionService;
}

const tag = 'executions';

/**
 * Registers the executions API group: submit, result, cancel, stdin, retry, history, delete, stored events, examples
 * and limits. Everything about executions needs a signed-in user (owner or admin, checked by the service);
 * examples and limits are public.
 */
export function register(router: Router, deps: ExecutionRoutesDeps): void {
  const { executions } = deps;

  router.post(
    '/api/v1/execute',
    async (ctx) => {
      const caller = requireUser(ctx);
      const body = parseInput(ExecuteBody, await ctx.body.json());
      const headers = parseInput(ExecuteHeaders, { 'Idempotency-Key': ctx.header('idempotency-key') });
      ctx.json(200, await executions.submit(toSubmitRequest(body, headers), caller));
    },
    { summary: 'Submit a script to run', tag, auth: 'user', body: ExecuteBody, response: SubmitResponseSchema },
  );

  router.get(
    '/api/v1/executions/{id}/result',
    async (ctx) => {
      const caller = requireUser(ctx);
      ctx.json(200, await executions.result(pathParam(ctx, 'id'), caller));
    },
    { summary: 'Result of an execution (owner or admin)', tag, auth: 'user', response: ExecutionResultSchema },
  );

  router.post(
    '/api/v1/executions/{id}/cancel',
    async (ctx) => {
      const caller = requireUser(ctx);
      const body = parseInput(CancelBody, await ctx.body.json());
      ctx.json(200, await executions.cancel(pathParam(ctx, 'id'), body.reason, caller));
    },
    { summary: 'Cancel a queued or running execution', tag, auth: 'user', body: CancelBody, response: CancelResponseSchema },
  );

  router.post(
    '/api/v1/executions/{id}/stdin',
    async (ctx) => {
      const caller = requireUser(ctx);
      const body = parseInput(StdinBody, await ctx.body.json());
      ctx.json(200, await executions.writeStdin(pathParam(ctx, 'id'), toStdinRequest(body), caller));
    },
    {
      summary: "Write to a running interactive execution's standard input (owner only; 409 unless running and interactive)",
      tag,
      auth: 'user',
      body: StdinBody,
      response: StdinResponseSchema,
    },
  );

  router.post(
    '/api/v1/executions/{id}/retry',
    async (ctx) => {
      const caller = requireUser(ctx);
      ctx.json(200, await executions.retry(pathParam(ctx, 'id'), caller));
    },
    { summary: 'Run a finished execution again as a new one', tag, auth: 'user', response: SubmitResponseSchema },
  );

  router.delete(
    '/api/v1/executions/{id}',
    async (ctx) => {
      const caller = requireAdmin(ctx);
      ctx.json(200, await executions.remove(pathParam(ctx, 'id'), caller));
    },
    { summary: 'Delete a finished execution record (its events are kept)', tag, auth: 'admin', response: DeleteResponseSchema },
  );

  router.get(
    '/api/v1/executions/{id}/events',
    async (ctx) => {
      const caller = requireUser(ctx);
      const query = parseInput(EventsQuery, eventsQueryInput(ctx.query));
      const opts = { limit: query.limit, ...(query.event_types ? { eventTypes: query.event_types } : {}) };
      ctx.json(200, await executions.events(pathParam(ctx, 'id'), caller, opts));
    },
    { summary: 'Stored domain events of an execution', tag, auth: 'user', query: EventsQuery, response: StoredEventsSchema },
  );

  router.get(
    '/api/v1/user/executions',
    async (ctx) => {
      const caller = requireUser(ctx);
      const query = parseInput(UserExecutionsQuery, queryRecord(ctx.query));
      ctx.json(200, await executions.listOwn(caller, toListQuery(query)));
    },
    {
      summary: "The caller's own executions, newest first",
      tag,
      auth: 'user',
      query: UserExecutionsQuery,
      response: executionPageSchema(ExecutionSummarySchema),
    },
  );

  router.get(
    '/api/v1/example-scripts',
    (ctx) => {
      ctx.json(200, { scripts: executions.exampleScripts() });
    },
    { summary: 'An example program per installed language', tag, auth: 'public', response: ExampleScriptsSchema },
  );

  router.get(
    '/api/v1/k8s-limits',
    (ctx) => {
      ctx.json(200, executions.limits());
    },
    { summary: 'Resource limits of new runs and the installed runtimes', tag, auth: 'public', response: K8sLimitsSchema },
  );
}
