/**
 * What a provider's reply says about its rate limits, in one shape whatever
 * the dialect, so the limiter can pace to the budget the provider states
 * instead of learning it from refusals:
 * - OpenAI (and Azure OpenAI, Groq, …): `x-ratelimit-limit|remaining|reset-requests`
 *   and `-tokens`, resets as Go durations (`20ms`, `1s`, `6m0s`, `1m30.5s`),
 *   sent on every reply; Azure sends the `remaining` ones only.
 * - Anthropic: `anthropic-ratelimit-requests|tokens-limit|remaining|reset`,
 *   resets as RFC 3339 times, plus `input-tokens`/`output-tokens` variants.
 * - On a refusal: `retry-after-ms`, `Retry-After` (seconds or an HTTP date),
 *   or only a hint in the error's text ("Please try again in 120ms.", Azure's
 *   "Please retry after 6 seconds.").
 * Sources: OpenAI's rate-limit guide (platform.openai.com/docs/guides/rate-limits,
 * "Rate limits in headers"); Anthropic's (docs.anthropic.com/en/api/rate-limits,
 * "Response headers"); RFC 9110 §10.2.3 for Retry-After.
 * Reading never throws: a header that cannot be read is left out.
 */
import type { HeaderLookup } from './http.js';

/** One allowance the provider states: how much is left of `limit`, and in how long it is whole again. */
export interface Allowance {
  limit?: number;
  remaining: number;
  /** From the reply's arrival until the allowance is back to `limit` (OpenAI) or replenished (Anthropic). */
  resetMs?: number;
}

export interface RateLimitState {
  requests?: Allowance;
  /** Tokens: the combined allowance where the provider states one, else the input tokens' (what a request spends first). */
  tokens?: Allowance;
  /** The wait a refusal asks for: its headers, else the hint in its text. */
  retryAfterMs?: number;
}

/**
 * The delay a 429 asks for, in ms: `retry-after-ms` (OpenAI's), else
 * `Retry-After` as seconds or an HTTP-date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: HeaderLookup, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Go's duration format as OpenAI writes it: `20ms`, `1s`, `6m0s`, `1m30.5s`, `1h2m3s`. */
export function parseDuration(value: string): number | undefined {
  const text = value.trim();
  if (!/^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
  let ms = 0;
  for (const [, n, , u] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) ms += Number(n) * unit[u];
  return ms;
}

/** A non-negative integer header, or undefined. */
function count(headers: HeaderLookup, name: string): number | undefined {
  const v = headers.get(name)?.trim();
  if (!v || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** A reset as a duration (OpenAI) or a time (Anthropic's RFC 3339), as ms from `now`. */
function reset(headers: HeaderLookup, name: string, now: number): number | undefined {
  const v = headers.get(name)?.trim();
  if (!v) return undefined;
  const duration = parseDuration(v);
  if (duration !== undefined) return duration;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function allowance(headers: HeaderLookup, names: { limit: string; remaining: string; reset: string }, now: number): Allowance | undefined {
  const remaining = count(headers, names.remaining);
  if (remaining === undefined) return undefined;
  const out: Allowance = { remaining };
  const limit = count(headers, names.limit);
  if (limit !== undefined) out.limit = limit;
  const resetMs = reset(headers, names.reset, now);
  if (resetMs !== undefined) out.resetMs = resetMs;
  return out;
}

const openai = (kind: string) => ({ limit: `x-ratelimit-limit-${kind}`, remaining: `x-ratelimit-remaining-${kind}`, reset: `x-ratelimit-reset-${kind}` });
const anthropic = (kind: string) => ({ limit: `anthropic-ratelimit-${kind}-limit`, remaining: `anthropic-ratelimit-${kind}-remaining`, reset: `anthropic-ratelimit-${kind}-reset` });

/** The wait an error's text asks for: OpenAI's "try again in 1.5s" / "in 120ms", Azure's "retry after 7 seconds", API Management's "Try again in 30 seconds". */
export function retryHint(body: string): number | undefined {
  const go = /try again in (\d+(?:\.\d+)?(?:ms|s|m|h)(?:\d+(?:\.\d+)?(?:ms|s|m|h))*)/i.exec(body);
  if (go) return parseDuration(go[1]);
  const words = /(?:retry|try again) (?:after|in) (\d+(?:\.\d+)?) (seconds?|milliseconds?)\b/i.exec(body);
  if (words) return Number(words[1]) * (words[2].toLowerCase().startsWith('second') ? 1000 : 1);
  return undefined;
}

/** The rate-limit state a reply states; `body` (the error's text) is read for a hint only when no header gives the wait. */
export function readRateLimits(headers: HeaderLookup, body?: string, now = Date.now()): RateLimitState {
  const state: RateLimitState = {};
  const requests = allowance(headers, openai('requests'), now) ?? allowance(headers, anthropic('requests'), now);
  if (requests) state.requests = requests;
  const tokens = allowance(headers, openai('tokens'), now) ?? allowance(headers, anthropic('tokens'), now) ?? allowance(headers, anthropic('input-tokens'), now);
  if (tokens) state.tokens = tokens;
  const retryAfterMs = parseRetryAfter(headers, now) ?? (body ? retryHint(body) : undefined);
  if (retryAfterMs !== undefined) state.retryAfterMs = Math.round(retryAfterMs);
  return state;
}
