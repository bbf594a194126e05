/** Display helpers. */

/** An ISO time as the browser's local date and time, or a dash. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * Where a notification's `action_url` leads inside the app: an execution's result (`/api/v1/executions/{id}/result`)
 * opens that execution's page; another in-app path is used as it is; anything else (external) is null.
 */
export function appLinkFor(actionUrl: string): string | null {
  const execution = /^\/api\/v1\/executions\/([^/?#]+)\/result$/.exec(actionUrl);
  if (execution) return `/history/${execution[1]}`;
  if (actionUrl.startsWith('/') && !actionUrl.startsWith('//') && !actionUrl.startsWith('/api/')) return actionUrl;
  return null;
}
