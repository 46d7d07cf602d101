/**
 * The API key prompt: shown when the API answers 401, once for every request
 * waiting on it (api.ts); the key is then kept for the tab's session.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { setKeyAsker } from '../api';

interface Ask {
  reason: string | undefined;
  resolve: (key: string) => void;
}

export function KeyDialog() {
  const [ask, setAsk] = useState<Ask | undefined>();
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setKeyAsker((reason) => new Promise<string>((resolve) => setAsk({ reason, resolve }))), []);
  useEffect(() => input.current?.focus(), [ask]);
  if (!ask) return null;
  const submit = (e: Event) => {
    e.preventDefault();
    if (!value.trim()) return;
    ask.resolve(value.trim());
    setAsk(undefined);
    setValue('');
  };
  return (
    <div class="overlay">
      <form class="dialog" role="dialog" aria-modal="true" aria-labelledby="key-title" onSubmit={submit}>
        <h2 id="key-title">API key</h2>
        <p>This API needs a key. It is kept for this browser tab only (session storage) and sent as a bearer token.</p>
        {ask.reason && (
          <p class="error" role="alert">
            {ask.reason}
          </p>
        )}
        <label for="api-key">Key</label>
        <input id="api-key" ref={input} type="password" autocomplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit">Use this key</button>
      </form>
    </div>
  );
}
