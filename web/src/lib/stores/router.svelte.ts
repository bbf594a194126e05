/** A small history-API router: the current path and query as reactive state, navigation, and link clicks. */

class Location {
  path = $state(window.location.pathname);
  search = $state(window.location.search);
}

/** Where the app is: `path` and `search` follow pushState/popstate. */
export const location = new Location();

window.addEventListener('popstate', () => sync());

function sync(): void {
  location.path = window.location.pathname;
  location.search = window.location.search;
}

/** Goes to an in-app URL (path plus optional query); `replace` keeps the history entry. */
export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  sync();
  window.scrollTo(0, 0);
}

/** The query parameters of the current URL. */
export function queryParams(): URLSearchParams {
  return new URLSearchParams(location.search);
}

/** Svelte action for `<a href>`: same-origin clicks navigate in-app instead of reloading. */
export function link(node: HTMLAnchorElement): { destroy(): void } {
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(node.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  };
  node.addEventListener('click', onClick);
  return { destroy: () => node.removeEventListener('click', onClick) };
}

/** Matches `/history/:id`-style patterns; returns the parameters or null. */
export function matchRoute(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return null;
  }
  return params;
}
