/**
 * Routing in the URL's hash, query included (`#/set/3/scores?metric=x`), so
 * every view and its state is a link, and a static host (S3) serves the one
 * index.html whatever the view: no server rewrite. wouter's own hash hook
 * moves the query out of the hash into the page's search, which a link
 * between views then leaves stale; these hooks keep it in the hash.
 */
import { useSyncExternalStore } from 'preact/compat';

const subscribe = (onChange: () => void) => {
  addEventListener('hashchange', onChange);
  return () => removeEventListener('hashchange', onChange);
};

const hash = () => location.hash.replace(/^#?\/?/, '');
const pathOf = () => '/' + hash().split('?')[0];
const searchOf = () => hash().split('?')[1] ?? '';

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const target = '#' + (to.startsWith('/') ? to : '/' + to);
  if (options.replace) {
    history.replaceState(history.state, '', target);
    dispatchEvent(new HashChangeEvent('hashchange'));
  } else location.hash = target;
}

export const useHashPath = (): [string, (to: string, options?: { replace?: boolean }) => void] => [useSyncExternalStore(subscribe, pathOf), navigate];
useHashPath.hrefs = (href: string) => '#' + href;

export const useHashSearch = () => useSyncExternalStore(subscribe, searchOf);

/** The hash's query parameters, and a setter that replaces them (history is not filled with every filter change). */
export function useQueryParams(): [URLSearchParams, (changes: Record<string, string | undefined>) => void] {
  const search = useHashSearch();
  const params = new URLSearchParams(search);
  const set = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(searchOf());
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === '') next.delete(k);
      else next.set(k, v);
    }
    const q = next.toString();
    navigate(pathOf() + (q ? `?${q}` : ''), { replace: true });
  };
  return [params, set];
}
