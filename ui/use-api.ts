/** Data loading for the views: one GET, refreshed on demand or on an interval while `poll` holds. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { get } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` (nothing while it is null); while `poll(data)` is true, again
 * every `intervalMs`; otherwise, with `idleMs`, again every `idleMs` (a list
 * that should show what others launch).
 */
export function useApi<T>(path: string | null, options: { poll?: (data: T) => boolean; intervalMs?: number; idleMs?: number } = {}): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean; path: string | null }>({ loading: path !== null, path });
  const [tick, setTick] = useState(0);
  const pollRef = useRef(options.poll);
  pollRef.current = options.poll;
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((s) => ({ ...s, loading: true, ...(s.path !== path ? { data: undefined, error: undefined, path } : {}) }));
    get<T>(path, abort.signal).then(
      (data) => {
        if (abort.signal.aborted) return;
        setState({ data, loading: false, path });
        if (pollRef.current?.(data)) timer = setTimeout(reload, options.intervalMs ?? 2000);
        else if (options.idleMs) timer = setTimeout(reload, options.idleMs);
      },
      (err: Error) => {
        if (abort.signal.aborted) return;
        setState((s) => ({ ...s, error: err.message, loading: false }));
      },
    );
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [path, tick]);

  return { data: state.path === path ? state.data : undefined, error: state.error, loading: state.loading, reload };
}
