/**
 * The model providers' error family. A provider call either answers or throws
 * one of these; `retryable` (and, for rate limits, `retryAfterMs`) is what the
 * runner needs to decide retry | fail | throttle. Every failure is classified
 * here, by `classifyHttpError` (a non-2xx answer), `malformedResponseError`
 * (a 2xx that is not a completion) and `toProviderError` (anything thrown
 * while calling), and nowhere else.
 *
 * Messages never contain the API key: the classifiers take it and mask it,
 * since providers and undici both echo request details back in their errors.
 * Quoted text is masked before it is cut, and a cut never leaves the key's
 * first characters behind (see `bounded`).
 */
import type { HeaderLookup } from './http.js';
import { readRateLimits } from './rate-limits.js';

export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    message: string,
    /** Whether the same call may succeed if tried again later. */
    public readonly retryable: boolean,
    /** The HTTP status answered, when there was one. */
    public readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 429: the provider asks us to slow down, for `retryAfterMs` when it said so. */
export class RateLimitedError extends ProviderError {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    /** From `retry-after-ms`, else `Retry-After` (seconds or HTTP-date), else the error text's hint; undefined when none is readable. */
    public readonly retryAfterMs?: number,
  ) {
    super(message, true, 429);
  }
}

/** 5xx: the provider failed; trying again may work. */
export class ProviderServerError extends ProviderError {
  override name = 'ProviderServerError';
  constructor(message: string, status: number) {
    super(message, true, status);
  }
}

/** No complete answer within the time allowed (our deadline, undici's, or a 408). */
export class ProviderTimeoutError extends ProviderError {
  override name = 'ProviderTimeoutError';
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, true, status, options);
  }
}

/** The connection could not be made or was cut (refused, reset, DNS, "fetch failed"). */
export class ProviderConnectionError extends ProviderError {
  override name = 'ProviderConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, undefined, options);
  }
}

/** Any other 4xx: the request itself is wrong (bad model name, bad key, bad params); retrying won't help. */
export class ProviderClientError extends ProviderError {
  override name = 'ProviderClientError';
  constructor(message: string, status: number) {
    super(message, false, status);
  }
}

/** A 2xx whose body is not a chat completion (not JSON, no choices, an error object). */
export class ProviderResponseError extends ProviderError {
  override name = 'ProviderResponseError';
  constructor(message: string, status?: number) {
    super(message, false, status);
  }
}

/** What the classifiers put in messages: which model and endpoint, and the secret to keep out. */
export interface CallContext {
  model: string;
  url: string;
  apiKey?: string | null;
  timeoutMs?: number;
}

/** How much of the provider's own error text a message keeps. */
export const MAX_PROVIDER_MESSAGE = 500;

/** Error codes (of an error or its causes) that mean the connection failed. */
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);
/** undici's own deadlines (300 s by default): the provider is too slow, not unreachable. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Classifies a non-2xx answer. `body` is the raw response text. */
export function classifyHttpError(status: number, headers: HeaderLookup, body: string, ctx: CallContext): ProviderError {
  const detail = providerMessage(body, ctx.apiKey, MAX_PROVIDER_MESSAGE);
  const where = `${ctx.model} (${endpoint(ctx.url)})`;
  const suffix = detail ? `: ${detail}` : '';
  if (status === 429) {
    // The body's hint ("Please try again in 120ms.") counts when no header gives the wait.
    const retryAfterMs = readRateLimits(headers, body).retryAfterMs;
    const wait = retryAfterMs === undefined ? '' : `; retry after ${retryAfterMs} ms`;
    return new RateLimitedError(redact(`rate limited (HTTP 429) by ${where}${wait}${suffix}`, ctx.apiKey), retryAfterMs);
  }
  if (status === 408) return new ProviderTimeoutError(redact(`HTTP 408 (request timeout) from ${where}${suffix}`, ctx.apiKey), 408);
  if (status >= 500) return new ProviderServerError(redact(`HTTP ${status} from ${where}${suffix}`, ctx.apiKey), status);
  if (status >= 400) return new ProviderClientError(redact(`HTTP ${status} from ${where}${suffix}`, ctx.apiKey), status);
  return new ProviderResponseError(redact(`unexpected HTTP ${status} from ${where}${suffix}`, ctx.apiKey), status);
}

/**
 * Classifies anything thrown while calling a provider (fetch, reading the
 * body). `timedOut` says our own deadline fired; a `ProviderError` passes
 * through unchanged.
 */
export function toProviderError(err: unknown, ctx: CallContext & { timedOut?: boolean }): ProviderError {
  if (err instanceof ProviderError) return err;
  const where = `${ctx.model} (${endpoint(ctx.url)})`;
  const options = { cause: err };
  if (ctx.timedOut || isNamed(err, 'TimeoutError')) {
    const after = ctx.timeoutMs === undefined ? '' : ` after ${ctx.timeoutMs} ms`;
    return new ProviderTimeoutError(redact(`no answer from ${where}${after}`, ctx.apiKey), undefined, options);
  }
  const codes = errorCodes(err);
  const description = describe(err, ctx.apiKey);
  if (codes.some((c) => TIMEOUT_CODES.has(c))) {
    return new ProviderTimeoutError(redact(`no answer from ${where}: ${description}`, ctx.apiKey), undefined, options);
  }
  if (codes.some((c) => CONNECTION_CODES.has(c)) || isFetchFailed(err) || /socket hang up/i.test(description)) {
    return new ProviderConnectionError(redact(`cannot reach ${where}: ${description}`, ctx.apiKey), options);
  }
  // Not a network failure: a bad URL, an invalid header value (which undici
  // quotes, key included), a bug. Retrying the same call would fail the same
  // way. No `cause` here: its message may hold the key.
  return new ProviderError(redact(`calling ${where} failed: ${description}`, ctx.apiKey), false);
}

/** A 2xx that is not a chat completion; `problem` says what is wrong, the body is quoted (truncated). */
export function malformedResponseError(status: number, problem: string, body: string, ctx: CallContext): ProviderResponseError {
  const detail = providerMessage(body, ctx.apiKey, 200);
  const quoted = detail ? `: ${detail}` : '';
  return new ProviderResponseError(redact(`HTTP ${status} from ${ctx.model} (${endpoint(ctx.url)}) with ${problem}${quoted}`, ctx.apiKey), status);
}

/** The provider's error text: OpenAI's `{error: {message}}` (or `{error: '...'}`, `{message}`, `{detail}`), else the raw body; masked, then cut to `max`. */
function providerMessage(body: string, secret: string | null | undefined, max: number): string {
  let text = body.trim();
  try {
    const json = JSON.parse(text);
    const candidate = json?.error?.message ?? json?.error ?? json?.message ?? json?.detail;
    if (candidate !== undefined && candidate !== null) text = typeof candidate === 'string' ? candidate : JSON.stringify(candidate);
  } catch {
    // Not JSON (an HTML error page, plain text): keep it as it is.
  }
  // Masked before spaces are squeezed too, in case the key itself holds a line break.
  return bounded(redact(text, secret).replace(/\s+/g, ' '), secret, max);
}

/**
 * `text` with `secret` masked, then cut to `max` characters. Masking comes
 * first: cut first, a key straddling the cut would no longer match and its
 * head would stay. After the cut, or where the text itself ends in a key the
 * provider cut short, a tail that begins the key is masked too.
 */
function bounded(text: string, secret: string | null | undefined, max: number): string {
  const masked = redact(text, secret);
  if (masked.length <= max) return maskTrailingPrefix(masked, secret);
  return `${maskTrailingPrefix(masked.slice(0, max), secret)}…`;
}

/** Origin and path only: a query string may carry credentials. */
function endpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

/** Shorter heads of a key than this are left: three characters ("sk-") say nothing, and masking them would hit ordinary text. */
const MIN_KEY_HEAD = 4;

/**
 * The ways a provider may echo the key: as sent, URL-encoded (in a quoted
 * URL or form body), and JSON-escaped (in a body we could not parse, or an
 * error object we re-serialise), with the variants common encoders produce.
 * Longest first, so a form is masked before a shorter one inside it.
 */
function secretForms(secret: string): string[] {
  const url = encodeURIComponent(secret);
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = new Set([
    secret,
    url,
    url.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    json,
    json.replace(/\//g, '\\/'),
    json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  ]);
  return [...forms].sort((a, b) => b.length - a.length);
}

function redact(text: string, secret: string | null | undefined): string {
  if (!secret) return text;
  let out = text;
  for (const form of secretForms(secret)) out = out.split(form).join('***');
  return out;
}

/** Masks the end of `text` when it is the first MIN_KEY_HEAD or more characters of a form of `secret`. */
function maskTrailingPrefix(text: string, secret: string | null | undefined): string {
  if (!secret) return text;
  for (const form of secretForms(secret)) {
    for (let length = Math.min(form.length, text.length); length >= MIN_KEY_HEAD; length--) {
      if (text.endsWith(form.slice(0, length))) return `${text.slice(0, text.length - length)}***`;
    }
  }
  return text;
}

/** The error's message with those of its causes (undici hides the useful part in `cause`); masked, then cut. */
function describe(err: unknown, secret: string | null | undefined): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message);
    current = (current as { cause?: unknown }).cause;
  }
  return bounded(parts.filter(Boolean).join(': '), secret, MAX_PROVIDER_MESSAGE);
}

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    // AggregateError (happy eyeballs: every address refused).
    for (const inner of (current as { errors?: unknown[] }).errors ?? []) {
      const innerCode = (inner as { code?: unknown })?.code;
      if (typeof innerCode === 'string') codes.push(innerCode);
    }
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

function isNamed(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}

function isFetchFailed(err: unknown): boolean {
  return err instanceof TypeError && err.message === 'fetch failed';
}
