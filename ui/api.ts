/**
 * The API client: relative URLs on the page's own origin (no CORS; CloudFront
 * routes /v1/* to the API in AWS). When the API answers 401 the user is asked
 * for a key once (one prompt shared by every waiting request), which is kept
 * in sessionStorage for the tab's life and sent as the API expects
 * (functions/api/auth.ts: `Authorization: Bearer <key>`).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const KEY_ITEM = 'evalap.apiKey';

/** Shows the key prompt; resolves with what the user typed. `reason` says why it is asked again. */
type KeyAsker = (reason: string | undefined) => Promise<string>;
let askKey: KeyAsker | undefined;
let asking: Promise<string> | undefined;

export function setKeyAsker(fn: KeyAsker): void {
  askKey = fn;
}

const storedKey = () => sessionStorage.getItem(KEY_ITEM) ?? undefined;

function forgetKey(): void {
  sessionStorage.removeItem(KEY_ITEM);
}

function promptKey(rejected: boolean): Promise<string> {
  if (!askKey) return Promise.reject(new ApiError(401, 'this API needs a key'));
  asking ??= askKey(rejected ? 'That key was refused: check it and try again.' : undefined).then((key) => {
    sessionStorage.setItem(KEY_ITEM, key);
    asking = undefined;
    return key;
  });
  return asking;
}

/** The URL of an API path, resolved against the page (works under a path prefix too). */
export const apiUrl = (path: string) => new URL(path.replace(/^\//, ''), document.baseURI).href;

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  let detail = text || res.statusText;
  try {
    const body = JSON.parse(text);
    detail = typeof body?.detail === 'string' ? body.detail : JSON.stringify(body?.detail ?? body);
  } catch {
    // Not JSON: the text says it.
  }
  return new ApiError(res.status, `${res.status}: ${detail}`);
}

export interface RequestOptions {
  /** A body sent as it is, with this content type (a CSV, a Parquet file...). */
  raw?: { body: BodyInit; contentType: string };
  signal?: AbortSignal;
}

/** A 503 (the database resuming from pause, a secret unreadable) is tried again this many times, after its Retry-After. */
const RETRIES_ON_503 = 3;
const MAX_WAIT_MS = 10_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  let key = storedKey();
  let retries = 0;
  for (;;) {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: BodyInit | undefined;
    if (options.raw) {
      headers['content-type'] = options.raw.contentType;
      payload = options.raw.body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(apiUrl(path), { method, headers, body: payload, signal: options.signal });
    if (res.status === 401) {
      const refused = key !== undefined;
      forgetKey();
      key = await promptKey(refused);
      continue;
    }
    // functions/api/http.ts: a 503 says when to come back in Retry-After (seconds).
    if (res.status === 503 && retries < RETRIES_ON_503) {
      retries++;
      await pause(Math.min(MAX_WAIT_MS, 1000 * (Number(res.headers.get('retry-after')) || 1)));
      continue;
    }
    if (!res.ok) throw await errorOf(res);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

export const get = <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, { signal });
