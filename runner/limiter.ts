/**
 * Per-model admission control for the runner's main thread. The dispatcher
 * hands a task to a worker only when the task's model limiter says
 * `canStart()`, and arms one timer for `waitMs()` when it says no.
 *
 * Two kinds of limit, enforced together:
 * - a concurrency limit found by AIMD, as TCP finds its window: +1 per window
 *   of successes, halved on 429s, timeouts and 5xx;
 * - the model's published budget (requests and tokens per minute), a hard limit
 *   counted over the trailing 60 s.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { StartWindow } from './start-window.js';

/** Published rate limits of one model endpoint; null or absent = unlimited. */
export interface ModelBudget {
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
}

export interface LimiterOptions {
  /** MAX_CONCURRENT_TASKS: the limit never exceeds it. */
  maxConcurrency: number;
  /** The limit never drops below it. @defaultvalue 1 */
  minConcurrency?: number;
  /** Limit of a new limiter. @defaultvalue maxConcurrency */
  initialConcurrency?: number;
  /** Where the limiter reads the time. @defaultvalue systemClock */
  clock?: Clock;
  /**
   * A new limiter's first wave: once `maxConcurrency` requests have started,
   * no other starts until they are all back, or this many ms at most. A
   * model's rate limit shows in its first burst, often in its last answers
   * (the first ones are accepted, the rest refused): refilling the slots of
   * the accepted ones at once would only send more requests to be refused.
   * 0 = off. @defaultvalue 0
   */
  firstWaveMs?: number;
  /**
   * Called whenever the integer limit changes.
   * @example onLimitChange: (key, limit, reason) => log.info('limit_changed', { key, limit, reason })
   */
  onLimitChange?: (key: string, limit: number, reason: string) => void;
}

/** Budgets are counted over this trailing window. */
export const BUDGET_WINDOW_MS = 60_000;

const DEFAULTS = { minConcurrency: 1, clock: systemClock, firstWaveMs: 0 } as const;

type ResolvedOptions = Required<Omit<LimiterOptions, 'onLimitChange'>> & Pick<LimiterOptions, 'onLimitChange'>;

function resolveOptions(options: LimiterOptions): ResolvedOptions {
  const o = {
    ...options,
    minConcurrency: options.minConcurrency ?? DEFAULTS.minConcurrency,
    initialConcurrency: options.initialConcurrency ?? options.maxConcurrency,
    clock: options.clock ?? DEFAULTS.clock,
    firstWaveMs: options.firstWaveMs ?? DEFAULTS.firstWaveMs,
  };
  const isCount = (n: number) => Number.isInteger(n) && n >= 1;
  if (!isCount(o.maxConcurrency)) throw new ConfigError('maxConcurrency', `must be an integer >= 1, got ${o.maxConcurrency}`);
  if (!isCount(o.minConcurrency) || o.minConcurrency > o.maxConcurrency) {
    throw new ConfigError('minConcurrency', `must be an integer between 1 and maxConcurrency (${o.maxConcurrency}), got ${o.minConcurrency}`);
  }
  if (!(o.initialConcurrency >= o.minConcurrency && o.initialConcurrency <= o.maxConcurrency)) {
    throw new ConfigError('initialConcurrency', `must be between minConcurrency and maxConcurrency, got ${o.initialConcurrency}`);
  }
  return o;
}

function checkBudget({ requestsPerMinute: rpm, tokensPerMinute: tpm }: ModelBudget): void {
  // 0 would block the model forever; "unlimited" is spelled null.
  if (rpm != null && !(Number.isInteger(rpm) && rpm >= 1)) {
    throw new ConfigError('requestsPerMinute', `must be an integer >= 1 or null, got ${rpm}`);
  }
  if (tpm != null && !(tpm > 0)) throw new ConfigError('tokensPerMinute', `must be a positive number or null, got ${tpm}`);
}

/** Records `value` (if any) as declared now; returns the smallest value declared within the last window. */
function strictest(declared: Map<number, number>, value: number | null | undefined, now: number): number | null {
  if (value != null) declared.set(value, now);
  let min: number | null = null;
  for (const [v, at] of declared) {
    if (now - at >= BUDGET_WINDOW_MS) declared.delete(v);
    else if (min === null || v < min) min = v;
  }
  return min;
}

/**
 * A request in flight; `seq` orders starts, to tell which requests a cut already accounted for;
 * `position` is its start in the window (its tokens are the estimate until it succeeds).
 */
interface InFlightRequest {
  seq: number;
  position: number;
}

/** Admission control for one model endpoint. Not thread-safe: the main thread owns it. */
export class ModelLimiter {
  private readonly options: ResolvedOptions;
  /** The budget in force: see declareBudget. */
  private readonly budget: ModelBudget = { requestsPerMinute: null, tokensPerMinute: null };
  /** Budget values declared by tasks, with when each was last declared. */
  private readonly declared = { requestsPerMinute: new Map<number, number>(), tokensPerMinute: new Map<number, number>() };
  /** Float, so that additive increase can add fractions; exposed floored. */
  private current: number;
  private blockedTill = 0;
  private throttled = 0;
  /**
   * Starts in the trailing budget window. Kept with or without a budget, so
   * that a budget declared later (another experiment's, on the same
   * endpoint) counts the starts just before it.
   */
  private readonly window = new StartWindow(BUDGET_WINDOW_MS);
  /** Requests in flight, oldest first. */
  private running: InFlightRequest[] = [];
  private lastSeq = 0;
  /** `lastSeq` at the last cut: requests up to it were in flight with the one that caused it. */
  private cutSeq = -1;
  /**
   * Minimum spacing of starts, learned from 429s: a concurrency cap alone
   * cannot hold a requests-per-second limit (fast calls burst through it, then
   * everything waits a whole Retry-After). 0 = no pacing.
   */
  private paceMs = 0;
  private lastStartAt = Number.NEGATIVE_INFINITY;
  private throttleTimes: number[] = [];
  /** Times of the successes of the last second: what the model accepted, for learnPace. */
  private successTimes: number[] = [];
  /** Successes since the limiter was made or last cut or throttled: look-ahead waits for a full window. */
  private calmSuccesses = 0;
  /** The first wave (see firstWaveMs): still starting, waiting for its answers (until `firstWaveEnd`), or over. */
  private firstWave: 'starting' | 'waiting' | 'over';
  private firstWaveStarts = 0;
  private firstWaveEnd = 0;

  constructor(
    readonly key: string,
    budget: ModelBudget,
    options: LimiterOptions,
  ) {
    this.options = resolveOptions(options);
    this.declareBudget(budget);
    this.current = this.options.initialConcurrency;
    this.firstWave = this.options.firstWaveMs > 0 ? 'starting' : 'over';
  }

  /** Current integer concurrency limit. */
  get limit(): number {
    return Math.floor(this.current);
  }

  get inFlight(): number {
    return this.running.length;
  }

  /** Epoch ms before which no request may start (Retry-After); 0 or past = not blocked. */
  get blockedUntil(): number {
    return this.blockedTill;
  }

  /**
   * A task's declaration of its model's budget (an empty one declares none).
   * Experiments may declare different budgets for one endpoint: the strictest
   * of those declared within the last budget window holds, so a task without
   * a budget never lifts another's, and a budget lapses a window after the
   * last task that declared it. Every start in the window counts against
   * the budget in force, whenever it was declared.
   */
  declareBudget(budget: ModelBudget): void {
    // Called for every waiting task each time the broker looks at it: no allocation.
    checkBudget(budget);
    const now = this.options.clock.now();
    this.budget.requestsPerMinute = strictest(this.declared.requestsPerMinute, budget.requestsPerMinute, now);
    this.budget.tokensPerMinute = strictest(this.declared.tokensPerMinute, budget.tokensPerMinute, now);
  }

  /** Can one more request start now? Needs a free slot, no Retry-After block, and room in the budget. */
  canStart(estimatedTokens = 0): boolean {
    return this.inFlight < this.limit && this.waitMs(estimatedTokens) === 0 && this.firstWaveOver();
  }

  private firstWaveOver(): boolean {
    if (this.firstWave === 'waiting' && (this.inFlight === 0 || this.options.clock.now() >= this.firstWaveEnd)) this.firstWave = 'over';
    return this.firstWave !== 'waiting';
  }

  /**
   * Milliseconds until `canStart` could become true through time alone (Retry-After or the budget
   * window); 0 if it can start now or only slots are missing (a finishing request frees those).
   */
  waitMs(estimatedTokens = 0): number {
    const now = this.options.clock.now();
    const waveWait = this.firstWave === 'waiting' && this.inFlight > 0 ? this.firstWaveEnd - now : 0;
    return Math.max(0, this.blockedTill - now, this.lastStartAt + this.paceMs - now, waveWait, this.budgetWaitMs(now, estimatedTokens));
  }

  /**
   * Whether tasks may wait at a worker for a free slot beyond this limit: the
   * limit is at its maximum (the workers' slots then cap the calls on their
   * own), a full window of calls has succeeded since the start or the last
   * trouble (a model's first burst is where its rate limit shows), and
   * nothing blocks, paces or budgets starts, so a task that starts later than
   * dispatched breaks no rule.
   */
  get open(): boolean {
    return (
      this.current >= this.options.maxConcurrency &&
      this.calmSuccesses >= this.options.maxConcurrency &&
      this.paceMs === 0 &&
      this.firstWave === 'over' &&
      !this.budgeted &&
      this.blockedTill <= this.options.clock.now()
    );
  }

  private get budgeted(): boolean {
    return this.budget.requestsPerMinute != null || this.budget.tokensPerMinute != null;
  }

  /** The learned spacing of starts in ms (0: none). */
  get pace(): number {
    return this.paceMs;
  }

  /** A request starts; the caller checked `canStart`. */
  start(estimatedTokens = 0): void {
    const now = this.options.clock.now();
    this.window.prune(now);
    this.running.push({ seq: ++this.lastSeq, position: this.window.add(now, Math.max(0, estimatedTokens)) });
    if (this.firstWave === 'starting' && ++this.firstWaveStarts >= this.options.maxConcurrency) {
      this.firstWave = 'waiting';
      this.firstWaveEnd = now + this.options.firstWaveMs;
    }
    // Paced starts keep to their grid: a start made late by a timer (up to half a step) does not
    // push the next one back, or the rate would drift below the pace; after a pause, the grid restarts.
    const slot = this.lastStartAt + this.paceMs;
    this.lastStartAt = this.paceMs > 0 && slot >= now - this.paceMs / 2 ? slot : now;
  }

  /** A started request never left (handed back before its call): its slot and window entry are undone. */
  cancel(): void {
    const request = this.running.pop();
    if (request) this.window.remove(request.position);
  }

  /** A request succeeded: additive increase, +1/limit per success (so +1 per window), up to the max. */
  succeed(tokensUsed?: number): void {
    const request = this.finish();
    const now = this.options.clock.now();
    // Actual usage replaces the estimate, still dated at the start so it leaves the window on time.
    if (request && tokensUsed != null) this.window.setTokens(request.position, tokensUsed);
    this.calmSuccesses++;
    this.successTimes.push(now);
    this.pruneSuccesses(now);
    this.setLimit(this.current + 1 / this.current, 'success');
    // After a calm half-minute, probe for more: the spacing shrinks 2% per success.
    const lastThrottle = this.throttleTimes.at(-1) ?? Number.NEGATIVE_INFINITY;
    if (this.paceMs > 0 && now - lastThrottle > 30_000) this.paceMs = this.paceMs * 0.98 < 0.5 ? 0 : this.paceMs * 0.98;
  }

  /** A request got a 429: halve the limit and, given Retry-After, block new starts until then. */
  throttle(retryAfterMs?: number): void {
    const request = this.finish();
    this.throttled += 1;
    // The block is the server's word, so it applies even when the cut below is skipped.
    if (retryAfterMs != null && retryAfterMs > 0) {
      const now = this.options.clock.now();
      this.blockedTill = Math.max(this.blockedTill, now + retryAfterMs);
      this.learnPace(now);
    }
    this.decrease(request, 'throttle');
  }

  /** A request failed: timeouts and 5xx halve the limit like a 429 (no block); 'other' only frees the slot. */
  fail(kind: 'timeout' | 'server' | 'other'): void {
    const request = this.finish();
    if (kind !== 'other') this.decrease(request, kind);
  }

  stats(): { key: string; limit: number; inFlight: number; throttled: number; blockedUntil: number; paceMs: number } {
    return { key: this.key, limit: this.limit, inFlight: this.inFlight, throttled: this.throttled, blockedUntil: this.blockedTill, paceMs: Math.round(this.paceMs * 10) / 10 };
  }

  /**
   * Frees one slot. Callers don't say which request finished, so it is taken to be the oldest: the
   * token totals don't depend on the choice, and for cuts it errs towards skipping (see `decrease`).
   * Failed requests keep their estimate: the provider may have counted them, and budgets are hard.
   */
  private finish(): InFlightRequest | undefined {
    return this.running.shift();
  }

  /**
   * The model's rate, as it just showed it: the calls it accepted in the last
   * second. Starts are then spaced to 95% of that rate. Within one burst of
   * 429s the estimate only loosens, as more of the accepted calls' answers
   * arrive; a later episode starts afresh.
   */
  private learnPace(now: number): void {
    const episodeGoing = (this.throttleTimes.at(-1) ?? Number.NEGATIVE_INFINITY) > now - 2000;
    this.throttleTimes = this.throttleTimes.filter((t) => t > now - 1000);
    this.throttleTimes.push(now);
    this.pruneSuccesses(now);
    const accepted = Math.max(1, this.successTimes.length);
    const pace = 1000 / (accepted * 0.95);
    this.paceMs = episodeGoing && this.paceMs > 0 ? Math.min(this.paceMs, pace) : pace;
  }

  /**
   * Multiplicative decrease, at most once per congestion window: requests that started before the
   * last cut were in flight with the one that caused it, so their errors report the same congestion.
   */
  private decrease(request: InFlightRequest | undefined, reason: string): void {
    this.calmSuccesses = 0;
    // A finish with nothing in flight (a caller bug) counts as an old request: it never cuts twice.
    if ((request?.seq ?? 0) <= this.cutSeq) return;
    this.cutSeq = this.lastSeq;
    this.setLimit(this.current / 2, reason);
  }

  private setLimit(next: number, reason: string): void {
    const before = this.limit;
    this.current = Math.min(this.options.maxConcurrency, Math.max(this.options.minConcurrency, next));
    if (this.limit !== before) this.options.onLimitChange?.(this.key, this.limit, reason);
  }

  /** Keeps the successes of the last second only. */
  private pruneSuccesses(now: number): void {
    while (this.successTimes.length && this.successTimes[0] <= now - 1000) this.successTimes.shift();
  }

  /** How long until the oldest starts leave the window and make room for one more; 0 if there is room. */
  private budgetWaitMs(now: number, estimatedTokens: number): number {
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.budget;
    if (rpm == null && tpm == null) return 0;
    this.window.prune(now);
    const starts = this.window.size;
    let wait = 0;
    if (rpm != null && starts >= rpm) {
      // The start that must leave so that this one is the rpm-th in the window.
      wait = this.window.leavesAt(starts - rpm) - now;
    }
    if (tpm != null) {
      // An estimate above the whole budget would never fit: it waits for an empty window instead.
      let excess = this.window.totalTokens + Math.min(estimatedTokens, tpm) - tpm;
      for (let k = 0; excess > 0 && k < starts; k++) {
        excess -= this.window.tokensOf(k);
        wait = Math.max(wait, this.window.leavesAt(k) - now);
      }
    }
    return wait;
  }
}

/** The main thread's limiters, one per model endpoint key, all built with the same options. */
export class Limiters {
  private readonly options: LimiterOptions;
  private readonly byKey = new Map<string, ModelLimiter>();

  constructor(options: LimiterOptions) {
    resolveOptions(options); // fail at start-up, not at the first task
    this.options = options;
  }

  /** The limiter for `key`, created on first use; a budget given is declared to it (see declareBudget). */
  get(key: string, budget?: ModelBudget): ModelLimiter {
    let limiter = this.byKey.get(key);
    if (!limiter) {
      limiter = new ModelLimiter(key, budget ?? {}, this.options);
      this.byKey.set(key, limiter);
    } else if (budget) {
      limiter.declareBudget(budget);
    }
    return limiter;
  }

  all(): ModelLimiter[] {
    return [...this.byKey.values()];
  }
}
