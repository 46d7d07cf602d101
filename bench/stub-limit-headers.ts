/**
 * How the stub model tells a client about its limits, one function per
 * provider's way of saying it: the budget headers (OpenAI's `x-ratelimit-*`,
 * Anthropic's `anthropic-ratelimit-*`), the delay a refusal asks for
 * (`Retry-After` in seconds or as an HTTP-date, `retry-after-ms`, or only a
 * sentence in the body), and the refusal bodies.
 */
import type { LimitState, LimitUnit } from './stub-limits.js';

/** How a refusal says when to come back. Several may be sent together (Azure sends `seconds` and `ms`). */
export type RetryHint = 'seconds' | 'http-date' | 'ms' | 'body';

/** Whose budget headers go on every chat answer, successes and refusals alike. */
export type BudgetHeaderStyle = 'openai' | 'anthropic';

/**
 * A duration as OpenAI's `x-ratelimit-reset-*` headers write it, which is
 * Go's time.Duration text: `12ms` under a second, else hours, minutes and
 * seconds with the zero units inside kept and a decimal fraction of seconds
 * (`1s`, `14.981s`, `6m0s`, `1m26.4s`). Rounded up to whole milliseconds so a
 * client that waits that long finds the budget back.
 * Examples seen: the OpenAI rate-limits guide's sample (`1s`, `6m0s`,
 * https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers).
 */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = `${(total % 60_000) / 1000}s`;
  if (hours) return `${hours}h${minutes}m${seconds}`;
  if (minutes) return `${minutes}m${seconds}`;
  return seconds;
}

/**
 * An instant as Anthropic's `anthropic-ratelimit-*-reset` headers write it:
 * RFC 3339 in UTC, whole seconds (`2025-08-21T12:40:59Z`), rounded up so it
 * is never before the budget is back.
 */
export function rfc3339Seconds(epochMs: number): string {
  return new Date(Math.ceil(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The delay in the words OpenAI's and Azure's bodies use after "Please try again in": `644ms`, `9.816s`. */
export function tryAgainIn(ms: number): string {
  const total = Math.max(1, Math.ceil(ms));
  return total < 1000 ? `${total}ms` : `${total / 1000}s`;
}

const OPENAI_UNITS: Partial<Record<LimitUnit, string>> = { requests: 'requests', tokens: 'tokens' };

/**
 * `x-ratelimit-limit|remaining|reset-requests` and `-tokens`. OpenAI has no
 * input/output split, so only `requests` and `tokens` limits show. A
 * request bucket of 5000 per minute, after one request, reads
 * limit 5000, remaining 4999, reset `12ms` (60 s / 5000), as in captured
 * answers (https://community.openai.com/t/how-to-get-rate-limit-reset-time-for-response-api/1268905).
 */
export function openAiBudgetHeaders(tightest: ReadonlyMap<LimitUnit, LimitState>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [unit, s] of tightest) {
    const name = OPENAI_UNITS[unit];
    if (!name) continue;
    out[`x-ratelimit-limit-${name}`] = String(s.limit);
    out[`x-ratelimit-remaining-${name}`] = String(s.remaining);
    out[`x-ratelimit-reset-${name}`] = goDuration(s.resetMs);
  }
  return out;
}

/**
 * `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
 * reset as an RFC 3339 instant (https://docs.anthropic.com/en/api/rate-limits#response-headers;
 * a captured set: tidyllm's test fixture messages-e050b5-POST.R).
 */
export function anthropicBudgetHeaders(tightest: ReadonlyMap<LimitUnit, LimitState>, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [unit, s] of tightest) {
    out[`anthropic-ratelimit-${unit}-limit`] = String(s.limit);
    out[`anthropic-ratelimit-${unit}-remaining`] = String(s.remaining);
    out[`anthropic-ratelimit-${unit}-reset`] = rfc3339Seconds(now + s.resetMs);
  }
  return out;
}

export function budgetHeaders(style: BudgetHeaderStyle, tightest: ReadonlyMap<LimitUnit, LimitState>, now: number): Record<string, string> {
  return style === 'openai' ? openAiBudgetHeaders(tightest) : anthropicBudgetHeaders(tightest, now);
}

/**
 * The retry headers of a refusal that asks for `ms`:
 * `Retry-After` as delta-seconds, whole and at least 1 (RFC 9110 §10.2.3
 * allows only whole seconds; Anthropic and Azure send them), or as an
 * HTTP-date (IMF-fixdate, same section; rounded up to the next second), and
 * `retry-after-ms` (OpenAI's SDKs read it first; Azure sends it:
 * openai-node src/core.ts, `retry-after-ms`).
 */
export function retryHeaders(hints: readonly RetryHint[], ms: number, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (hints.includes('seconds')) out['retry-after'] = String(Math.max(1, Math.ceil(ms / 1000)));
  // Both would be one `Retry-After`: the date wins when both are asked for, as the later-listed form.
  if (hints.includes('http-date')) out['retry-after'] = new Date(Math.ceil((now + ms) / 1000) * 1000).toUTCString();
  if (hints.includes('ms')) out['retry-after-ms'] = String(Math.max(1, Math.ceil(ms)));
  return out;
}

/**
 * An OpenAI-style 429 body. With the `body` hint its message ends the way
 * OpenAI's do ("… Limit 30000, Used 29937, Requested 385. Please try again in
 * 644ms." — BuilderIO/micro-agent#86); without, it gives no delay.
 */
export function openAiRefusalBody(model: string, refusedBy: LimitState, requested: number, ms: number, hintInBody: boolean): string {
  const used = refusedBy.limit - refusedBy.remaining;
  const message = hintInBody
    ? `Rate limit reached for ${model} in organization org-stub on ${refusedBy.describe}: Limit ${refusedBy.limit}, Used ${used}, Requested ${requested}. Please try again in ${tryAgainIn(ms)}.`
    : `Rate limit reached for ${model} in organization org-stub on ${refusedBy.describe}. Please try again later.`;
  return JSON.stringify({ error: { message, type: refusedBy.unit === 'requests' ? 'requests' : 'tokens', param: null, code: 'rate_limit_exceeded' } });
}

/** An Anthropic-style 429 body (`{"type":"error","error":{"type":"rate_limit_error",…}}`). */
export function anthropicRefusalBody(refusedBy: LimitState): string {
  return JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: `This request would exceed your rate limit of ${refusedBy.describe}. Please try again later.` } });
}

/** Anthropic's overload answer, sent with status 529 (anthropics/anthropic-sdk-typescript#616 shows it captured). */
export const ANTHROPIC_OVERLOADED_BODY = JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });

/** OpenAI's overload answer, status 503. */
export const OPENAI_OVERLOADED_BODY = JSON.stringify({ error: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', param: null, code: null } });
