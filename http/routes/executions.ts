import type { ExecutionService } from '../../system/services/types.js';
import type { Router } from '../router.js';
import { EventsQuery, eventsQueryInput } from '../schemas/events.js';
import { CancelBody, ExecuteBody, ExecuteHeaders, toSubmitRequest } from '../schemas/executions.js';
import { parseInput } from '../errors.js';
import { pathParam } from './params.js';

/** What the executions API group needs. */
export interface ExecutionRoutesDeps {
  executions: ExecutionService;
}

/** Registers the executions API group: submit, result, cancel, stored events, examples and limits. */
export function register(router: Router, deps: ExecutionRoutesDeps): void {
  const { executions } = deps;

  router.post('/api/v1/execute', async (ctx) => {
    const body = parseInput(ExecuteBody, await ctx.body.json());
    const headers = parseInput(ExecuteHeaders, { 'Idempotency-Key': ctx.header('idempotency-key') });
    ctx.json(200, await executions.submit(toSubmitRequest(body, headers), ctx.caller));
  });

  router.get('/api/v1/executions/{id}/result', async (ctx) => {
    ctx.json(200, await executions.result(pathParam(ctx, 'id'), ctx.caller));
  });

  router.post('/api/v1/executions/{id}/cancel', async (ctx) => {
    const body = parseInput(CancelBody, await ctx.body.json());
    ctx.json(200, await executions.cancel(pathParam(ctx, 'id'), body.reason, ctx.caller));
  });

  router.get('/api/v1/executions/{id}/events', async (ctx) => {
    const query = parseInput(EventsQuery, eventsQueryInput(ctx.query));
    const opts = { limit: query.limit, ...(query.event_types ? { eventTypes: query.event_types } : {}) };
    ctx.json(200, await executions.events(pathParam(ctx, 'id'), ctx.caller, opts));
  });

  router.get('/api/v1/example-scripts', (ctx) => {
    ctx.json(200, { scripts: executions.exampleScripts() });
  });

  router.get('/api/v1/k8s-limits', (ctx) => {
    ctx.json(200, executions.limits());
  });
}
