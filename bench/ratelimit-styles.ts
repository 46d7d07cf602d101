/**
 * The pipeline bench's rate-limit styles: each way a real gateway refuses
 * and announces its budget, at 50 requests/s (L = 50 ms, C = 64,
 * N = 1,000, ideal N/limit = 20 s), against which the runner's limiter is
 * measured. Run with `node dist/bench/pipeline.js ratelimit-styles` (all)
 * or by key; not in the default run (about 8 minutes together).
 */
import type { LimitChange, LimitSpec, StubRateLimit } from './stub-model.js';

export interface RateLimitStyle {
  key: string;
  /** What the model does, for the report line. */
  label: string;
  rateLimit: StubRateLimit;
  /** Ideal wall time, ms: the run at exactly the allowed rate, burst not counted. */
  idealMs: number;
  /** The status of a refusal (default 429). */
  refusedStatus?: number;
  /**
   * Rows of an experiment run before the measured one, by a runner stopped before the measured one
   * starts: the model is met again, as on a team's second run (only its budget statement is remembered).
   */
  metBefore?: number;
  /** Refusals allowed, as a share of requests: under it, or none at all when 0. @defaultvalue 0.05 */
  maxRefusedShare?: number;
}

/** The rows of the run that meets a model first, in the `-known` styles. */
const MET_BEFORE_ROWS = 20;

export const STYLE_N = 1000;
export const STYLE_LATENCY_MS = 50;
export const STYLE_C = 64;
const RATE = 50;

const bucket = (perSecond: number): LimitSpec => ({ unit: 'requests', perSecond, burst: perSecond });
const requests50 = [bucket(RATE)];
const ideal = (STYLE_N / RATE) * 1000;

/** Each row's call: "question i" in, "answer to: question i" out: 2 + 4 tokens by the stub's count. */
const TOKENS_PER_CALL = 6;

/** 50 req/s for 6 s, 25 req/s for 6 s, then 75 req/s: the limit lowered, then raised, mid-run. */
const CHANGES: LimitChange[] = [
  { afterMs: 6000, limits: [bucket(25)] },
  { afterMs: 12_000, limits: [bucket(75)] },
];
const changingIdealMs = 6000 + 6000 + ((STYLE_N - 6 * 50 - 6 * 25) / 75) * 1000;

const STYLES: RateLimitStyle[] = [
  { key: 'rl-at-once', label: '429 at once, Retry-After seconds', rateLimit: { limits: requests50, retryHints: ['seconds'] }, idealMs: ideal },
  { key: 'rl-after-latency', label: '429 after the latency, Retry-After seconds', rateLimit: { limits: requests50, refuse: 'after-latency', retryHints: ['seconds'] }, idealMs: ideal },
  { key: 'rl-http-date', label: '429 at once, Retry-After HTTP-date', rateLimit: { limits: requests50, retryHints: ['http-date'] }, idealMs: ideal },
  { key: 'rl-ms', label: '429 at once, retry-after-ms only', rateLimit: { limits: requests50, retryHints: ['ms'] }, idealMs: ideal },
  { key: 'rl-azure', label: '429 at once, Retry-After seconds + retry-after-ms', rateLimit: { limits: requests50, retryHints: ['seconds', 'ms'] }, idealMs: ideal },
  { key: 'rl-openai', label: '429 at once, x-ratelimit-* on every answer, delay in the body', rateLimit: { limits: requests50, budgetHeaders: 'openai', retryHints: ['body'] }, idealMs: ideal },
  {
    key: 'rl-anthropic',
    label: '429 at once, anthropic-ratelimit-* on every answer, Retry-After seconds',
    rateLimit: { limits: requests50, budgetHeaders: 'anthropic', retryHints: ['seconds'] },
    idealMs: ideal,
  },
  { key: 'rl-body', label: '429 at once, delay only in the body', rateLimit: { limits: requests50, retryHints: ['body'] }, idealMs: ideal },
  { key: 'rl-503', label: '503 overload at once, no delay given', rateLimit: { limits: requests50, status: 503, retryHints: [] }, idealMs: ideal, refusedStatus: 503 },
  { key: 'rl-529', label: "529 overloaded_error at once (Anthropic's), no delay given", rateLimit: { limits: requests50, status: 529, retryHints: [] }, idealMs: ideal, refusedStatus: 529 },
  {
    // A per-minute window of 3,000 never binds at N = 1,000: the same fixed window, one second long.
    key: 'rl-window',
    label: 'fixed 1 s windows of 50, 429 at once, Retry-After seconds',
    rateLimit: { limits: [{ unit: 'requests', perWindow: RATE, windowMs: 1000 }], retryHints: ['seconds'] },
    idealMs: ideal,
  },
  {
    key: 'rl-tpm',
    label: `${RATE * TOKENS_PER_CALL} tokens/s bucket (${TOKENS_PER_CALL} per call), 429 at once, Retry-After seconds`,
    rateLimit: { limits: [{ unit: 'tokens', perSecond: RATE * TOKENS_PER_CALL, burst: RATE * TOKENS_PER_CALL }], retryHints: ['seconds'] },
    idealMs: ideal,
  },
  {
    key: 'rl-changing',
    label: '50 → 25 (at 6 s) → 75 req/s (at 12 s), 429 at once, Retry-After seconds',
    rateLimit: { limits: requests50, schedule: CHANGES, retryHints: ['seconds'] },
    idealMs: changingIdealMs,
  },
];

/**
 * Each style whose replies state the budget, met a second time: the runner remembers that the model
 * states it, sends one request first, and sends nothing the budget would refuse.
 */
export const RATE_LIMIT_STYLES: RateLimitStyle[] = [
  ...STYLES,
  ...STYLES.filter((s) => s.rateLimit.budgetHeaders).map((s) => ({
    ...s,
    key: `${s.key}-known`,
    label: `${s.label}; the model met before`,
    metBefore: MET_BEFORE_ROWS,
    maxRefusedShare: 0,
  })),
];
