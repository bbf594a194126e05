/** Display helpers. */

/** How times are shown: the user's time zone and 12/24-hour clock (the browser's until settings are loaded). */
// State, so every time on screen is formatted again when the user changes them.
const display = $state<{ timeZone: string | undefined; hour12: boolean | undefined }>({ timeZone: undefined, hour12: undefined });

/** Sets the time zone (IANA name) and clock (`12h` or `24h`) every later formatted time uses. */
export function setTimeDisplay(timeZone: string | undefined, timeFormat: string | undefined): void {
  display.timeZone = timeZone;
  display.hour12 = timeFormat === '12h' ? true : timeFormat === '24h' ? false : undefined;
}

/** An ISO time as a date and time in the user's time zone, or a dash. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return d.toLocaleString(undefined, { timeZone: display.timeZone, hour12: display.hour12, timeZoneName: display.timeZone ? 'short' : undefined });
  } catch {
    return d.toLocaleString();
  }
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
