import type { RouteGroup } from '../server.js';

/**
 * GET /metrics: every metric of the node in the Prometheus text format (for a Prometheus or an OpenTelemetry
 * Collector scraping the nodes). Public like the health checks; keep it off the open internet at the proxy.
 */
export function metricsRoutes(deps: { prometheus(): Promise<string> }): RouteGroup {
  return (router) => {
    router.get(
      '/metrics',
      async (ctx) => {
        ctx.send(200, await deps.prometheus(), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      },
      { summary: 'Metrics of this node, Prometheus text format', tag: 'metrics', auth: 'public' },
    );
  };
}
