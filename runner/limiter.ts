/**
 * Per-model admission control for the runner's main thread. The dispatcher
 * hands a task to a worker only when the task's model limiter says
 * `canStart()`, and arms one timer for `waitMs()` when it says no.
 *
 * The limits, enforced together:
 * - what the provider states in its replies' headers (requests and tokens
 *   left, and when they are back: runner/allowance.ts): starts that would
 *   overdraw it wait, so a provider that states its budget is not sent what
 *   it would refuse;
 * - a pace (spacing of starts) learned from refusals (429, and 503/529
 *   overloads): 95% of the rate the model accepted over the last second, then
 *   probed upward after a calm second, so it climbs back to a limit that was
 *   underestimated or raised;
 * - Retry-After blocks every start only once a refusal confirms that the
 *   learned pace was not enough (the refused request itself always waits its
 *   own Retry-After: core/backoff.ts);
 * - a concurrency limit found by AIMD, as TCP finds its window: +1 per window
 *   of successes, halved on timeouts, 5xx and 429s when no pace is in force;
 * - the model's published budget (requests and tokens per minute), a hard limit
 *   counted over the trailing 60 s.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import type { RateLimitState } from '../core/providers/rate-limits.js';
import { StatedAllowance } from './allowance.js';
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

/** A first refusal (or one long after the last) teaches what the model accepted over this last stretch; see measuredPace. */
const PACE_WINDOW_MS = 1000;
/** The learned pace is this share of the accepted rate: just under it, so the pace itself is not refused. */
const PACE_SHARE = 0.95;
/**
 * Without a refusal for this long (and past the last episode's Retry-After and any block), the
 * pace probes upward. An episode with a confirmed refusal doubles the calm, up to MAX_CALM_MS,
 * so a limit that probing cannot raise (a window refusing until its end, where each probe costs
 * a block) is not probed every second; an episode that needed no confirmation halves it again.
 * Kept short: a longer one also delays the climb after a limit is raised.
 */
const CALM_MS = 1000;
const MAX_CALM_MS = 4000;
/** Probing: the spacing shrinks by this factor per success, so the climb is faster the higher the rate. */
const PROBE_FACTOR = 0.99;
/** A pace spacing below this no longer holds anything back: pacing stops. */
const MIN_PACE_MS = 0.5;
/** A confirming refusal this long after its episode began re-measures the rate over the episode; sooner, too few requests tell. */
const CONFIRM_MEASURE_MS = 250;
/** A refusal that confirms a pace was not enough slows it by at least this factor. */
const CONFIRMED_SLOWDOWN = 0.9;

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
  startedAt: number;
  /** Tokens it was charged against the stated allowance (undone if it never leaves). */
  tokenCost: number;
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
  private lastThrottleAt = Number.NEGATIVE_INFINITY;
  /**
   * The refusal episode: it began with the refusal at `episodeStart` and
   * lasts that refusal's Retry-After (or PACE_WINDOW_MS). A refusal within
   * it of a request started after it began confirms that the pace was not
   * enough.
   */
  private episodeStart = Number.NEGATIVE_INFINITY;
  private episodeEnd = Number.NEGATIVE_INFINITY;
  /** Where the episode's rate is measured from: the start of the episode before it (see measuredPace). */
  private measureFrom = Number.NEGATIVE_INFINITY;
  /** The blocks of the last budget window, [from, till]: time the model was not offered requests (see measuredPace). */
  private blocks: Array<[number, number]> = [];
  /** Whether a refusal confirmed the current episode (see throttle). */
  private confirmed = false;
  /** The calm before probing (see CALM_MS). */
  private calmMs = CALM_MS;
  /** Start times of the refused requests of the last budget window, oldest first: not accepted. */
  private refusedStarts: number[] = [];
  /** What the provider states in its replies (see observe). */
  private readonly stated = { requests: new StatedAllowance(), tokens: new StatedAllowance() };
  /** Mean tokens per successful call, the cost of a start that brings no estimate. */
  private meanTokens = 0;
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
    const statedWait = Math.max(this.stated.requests.waitMs(now, 1), this.stated.tokens.waitMs(now, this.tokenCost(estimatedTokens)));
    return Math.max(0, this.blockedTill - now, this.lastStartAt + this.paceMs - now, waveWait, statedWait, this.budgetWaitMs(now, estimatedTokens));
  }

  /** What a start costs the stated token allowance: its estimate, else what calls have used on average. */
  private tokenCost(estimatedTokens: number): number {
    return estimatedTokens > 0 ? estimatedTokens : this.meanTokens;
  }

  /**
   * What a reply stated about the provider's allowances (core/providers/rate-limits.ts), for a
   * request sent at `sentAt` (epoch ms). Starts made after it may not be counted in it yet: they
   * are taken as spent. Call it before the outcome (succeed, throttle, fail) of the same reply.
   */
  observe(limits: RateLimitState | undefined, sentAt: number | undefined): void {
    if (!limits || sentAt === undefined || (!limits.requests && !limits.tokens)) return;
    const now = this.options.clock.now();
    const later = this.window.after(sentAt);
    if (limits.requests) this.stated.requests.observe(limits.requests, sentAt, now, later.starts);
    if (limits.tokens) this.stated.tokens.observe(limits.tokens, sentAt, now, Math.max(later.tokens, later.starts * this.meanTokens));
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
    const now = this.options.clock.now();
    const max = this.options.maxConcurrency;
    return (
      this.current >= max &&
      this.calmSuccesses >= max &&
      this.paceMs === 0 &&
      this.firstWave === 'over' &&
      !this.budgeted &&
      this.blockedTill <= now &&
      // A full look-ahead's worth of starts must fit in what the provider says is left.
      this.stated.requests.available(now) >= max &&
      this.stated.tokens.available(now) >= max * this.meanTokens
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
    const estimate = Math.max(0, estimatedTokens);
    const tokenCost = this.tokenCost(estimate);
    this.running.push({ seq: ++this.lastSeq, position: this.window.add(now, estimate), startedAt: now, tokenCost });
    this.stated.requests.spend(1);
    this.stated.tokens.spend(tokenCost);
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
    if (!request) return;
    this.window.remove(request.position);
    this.stated.requests.spend(-1);
    this.stated.tokens.spend(-request.tokenCost);
  }

  /** A request succeeded: additive increase, +1/limit per success (so +1 per window), up to the max; a calm pace probes upward. */
  succeed(tokensUsed?: number): void {
    const request = this.finish();
    const now = this.options.clock.now();
    // Actual usage replaces the estimate, still dated at the start so it leaves the window on time.
    if (request && tokensUsed != null) this.window.setTokens(request.position, tokensUsed);
    if (tokensUsed != null) this.meanTokens = this.meanTokens === 0 ? tokensUsed : this.meanTokens * 0.9 + tokensUsed * 0.1;
    this.calmSuccesses++;
    this.setLimit(this.current + 1 / this.current, 'success');
    // The rate may have been underestimated, or raised since: probe, and let the next refusal re-learn it.
    // Calm counts from the end of a block too: a block lets the model's bucket fill, and a probe
    // funded by that burst would see a rate the model does not keep.
    if (this.paceMs > 0 && now - Math.max(this.lastThrottleAt, this.blockedTill) >= this.calmMs && now >= this.episodeEnd) {
      this.paceMs = this.paceMs * PROBE_FACTOR < MIN_PACE_MS ? 0 : this.paceMs * PROBE_FACTOR;
    }
  }

  /**
   * A request was refused (429, or a 503/529 overload), asking to wait `retryAfterMs` if it said.
   * The refused request waits that itself (its retry delay); the others only keep to the pace
   * learned here, unless this refusal shows the pace was not enough: then all wait.
   */
  throttle(retryAfterMs?: number): void {
    const request = this.finish();
    const now = this.options.clock.now();
    this.throttled += 1;
    this.stated.requests.refused(now);
    this.stated.tokens.refused(now);
    const startedAt = request?.startedAt ?? Number.NEGATIVE_INFINITY;
    if (startedAt > Number.NEGATIVE_INFINITY) this.refusedStarts.push(startedAt);
    this.refusedStarts = this.refusedStarts.filter((t) => t > now - BUDGET_WINDOW_MS);
    const paced = this.paceMs > 0;
    const wait = retryAfterMs != null && retryAfterMs > 0 ? retryAfterMs : 0;
    if (now < this.episodeEnd && startedAt > this.episodeStart) {
      // Sent after the episode's pace took effect, and refused all the same: the server's word
      // holds for every start. The pace slows to what was accepted since the episode began, once
      // that is long enough to tell; with no block to hold starts back, by a step at least.
      if (wait > 0) {
        this.blocks.push([Math.max(now, this.blockedTill), now + wait]);
        this.blockedTill = Math.max(this.blockedTill, now + wait);
      }
      const since = now - this.episodeStart >= CONFIRM_MEASURE_MS ? this.measuredPace(now, this.episodeStart) : 0;
      const floor = wait > 0 ? this.paceMs : this.paceMs / CONFIRMED_SLOWDOWN;
      if (paced || since > 0) this.paceMs = Math.max(since, floor);
      if (!this.confirmed) this.calmMs = Math.min(MAX_CALM_MS, this.calmMs * 2);
      this.confirmed = true;
      this.beginEpisode(now, wait);
    } else if (now < this.episodeEnd) {
      // In flight with the refusal that began the episode: more of the same burst, the estimate only tightens.
      const learned = this.measuredPace(now, this.measureFrom);
      if (learned > 0) this.paceMs = Math.max(this.paceMs, learned);
    } else {
      if (!this.confirmed) this.calmMs = Math.max(CALM_MS, this.calmMs / 2);
      this.confirmed = false;
      this.measureFrom = now - this.episodeStart >= PACE_WINDOW_MS && now - this.episodeStart < BUDGET_WINDOW_MS ? this.episodeStart : now - PACE_WINDOW_MS;
      const learned = this.measuredPace(now, this.measureFrom);
      if (learned > 0) this.paceMs = learned;
      this.beginEpisode(now, wait);
    }
    this.lastThrottleAt = now;
    // The pace is what holds a rate limit; without one, fewer requests at once is all there is.
    if (paced) this.calmSuccesses = 0;
    else this.decrease(request, 'throttle');
  }

  private beginEpisode(now: number, retryAfterMs: number): void {
    this.episodeStart = now;
    this.episodeEnd = now + (retryAfterMs || PACE_WINDOW_MS);
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
   * The spacing of starts at 95% of the rate the model accepted since
   * `since`: the starts since then, less those of them it refused (a refusal
   * may come back before the answers of the accepted requests, so their
   * successes would undercount it). 0 when it accepted none: there is no rate
   * to keep to. A new episode measures from the previous one's first refusal
   * when that is between a second and a budget window old: a bucket is empty
   * at a refusal, so what it accepted since is its refill rate, whereas the
   * last second alone may hold a burst its bucket had saved up (after a calm
   * spell or a block) and overstate the rate.
   */
  private measuredPace(now: number, since: number): number {
    const refused = this.refusedStarts.filter((t) => t > since).length;
    const accepted = this.window.after(since).starts - refused;
    // Time blocked is left out: a window that refused until its end does not give back what
    // the block left unused.
    this.blocks = this.blocks.filter(([, till]) => till > now - BUDGET_WINDOW_MS);
    let blocked = 0;
    for (const [from, till] of this.blocks) blocked += Math.max(0, Math.min(till, now) - Math.max(from, since));
    // Never a zero span: a measure that short says little, and must not divide by nothing.
    const offered = Math.max(now - since - blocked, PACE_WINDOW_MS / 10);
    return accepted >= 1 ? offered / (accepted * PACE_SHARE) : 0;
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
