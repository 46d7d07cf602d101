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
 *   overloads): 95% of the rate the model accepted (see throttle), then
 *   probed upward after a calm second, so it climbs back to a limit that was
 *   underestimated or raised; a refused probe goes back to the pace that was
 *   accepted, so probing never ratchets it down under a limit that counts
 *   windows;
 * - a refusal within an episode of a request sent under its pace confirms
 *   that the pace was not enough: the pace slows to what the model accepted
 *   since, if that explains it; if not (nothing accepted), Retry-After blocks
 *   every start (the refused request itself always waits its own
 *   Retry-After: core/backoff.ts);
 * - a concurrency limit found by AIMD, as TCP finds its window: +1 per window
 *   of successes, halved on timeouts, 5xx and 429s when no pace is in force;
 * - the model's published budget (requests and tokens per minute), a hard limit
 *   counted over the trailing 60 s;
 * - a new model's first wave (see firstWaveMs), and the wave after it spread
 *   out when the first told nothing (see spread); for a model known to state
 *   its budget, a first wave of one request (see scout).
 *
 * Several runners calling one model keep to its limits together
 * (runner/rate-share.ts): each takes its share (1/n of n runners wanting the
 * model) of the budget, of what the provider states is left, and of the
 * learned rate; a pace learned and a block asked for by one runner's refusal
 * hold for all of them (see share). A runner's measure of what the model
 * accepted is of its own part, scaled to all of them (see splitFactor).
 */
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import type { RateLimitState } from '../core/providers/rate-limits.js';
import type { PeerView, RateShareEntry, Reserved } from '../core/store/rate-shares.js';
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
   * Shared with other runners (runner/rate-share.ts): `exchange` asks for an exchange with them
   * soon. A new limiter starts nothing until it knows its share (see share), nor does its first wave
   * end before the others said what their first waves taught them; each waits `waitMs` at most.
   * A refusal that taught something asks for an exchange at once. @defaultvalue not shared
   */
  shared?: { waitMs: number; exchange: () => void };
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
 * Kept short: a longer one also delays the climb after a limit is raised (the 2.5 s at most and
 * about 2 s of climbing follow a limit raised threefold within 5 s; at 4 s, rl-changing took 5.5 s).
 */
const CALM_MS = 1000;
const MAX_CALM_MS = 2500;
/**
 * Probing raises the rate by this share a second, whatever the rate: each success shrinks the
 * spacing by what one spacing is of a second (see probeStep). A limit raised from 25 to 75 a second
 * is reached about two seconds into the probe.
 */
export const PROBE_GROWTH = 0.65;
/**
 * ...and by this share once the limit showed that it counts fixed windows (see windowLike): a probe
 * that overfills such a window is refused for the rest of it, so the climb is gentler, to overfill
 * it by less.
 */
export const GENTLE_PROBE_GROWTH = 0.1;
/** A pace spacing below this no longer holds anything back: pacing stops. */
const MIN_PACE_MS = 0.5;
/** A refused probe measures what the model allowed over this span, and paces at this share of it (see allowancePace). */
const PROBE_MEASURE_MS = 2000;
const PROBE_SHARE = 0.93;
/** A confirming refusal this long after its episode began re-measures the rate over the episode; sooner, too few requests tell. */
const CONFIRM_MEASURE_MS = 250;
/** A refusal that confirms a pace was not enough slows it by at least this factor... */
const CONFIRMED_SLOWDOWN = 0.9;
/**
 * ...and a rate measured since the episode began explains the refusal only if it is at most this
 * much slower (the spacing at most doubles): a limit that counts a sliding or fixed window, filled
 * by a burst, accepts next to nothing until the burst leaves it, and a rate measured over that span
 * is far below what it refills; such a refusal blocks for its Retry-After instead.
 */
const MAX_CONFIRMED_SLOWDOWN = 2;

/** The wave after a first wave accepted whole is spread over this share of the time the first took (see spread). */
const SPREAD_SHARE = 0.5;
/**
 * A limiter still wants its model this long after the time it said a start could go, or after
 * a start (see wanted): a runner that ran out of tasks gives its share back within this and an
 * exchange. At a second, the last runners with tasks at the end of a shared run went on at a
 * third of the rate for over a second while the others had nothing left (shared3's slow tails).
 */
const DEMAND_MS = 300;

const DEFAULTS = { minConcurrency: 1, clock: systemClock, firstWaveMs: 0 } as const;

type ResolvedOptions = Required<Omit<LimiterOptions, 'onLimitChange' | 'shared'>> & Pick<LimiterOptions, 'onLimitChange' | 'shared'>;

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

/**
 * What one success shrinks a probing spacing of `paceMs` by, for the rate to grow by `growth` a second:
 * successes come a spacing apart. Shared, a runner's spacing is its share's, so each runner, and all of
 * them together, climb at that rate.
 */
export function probeStep(paceMs: number, growth: number): number {
  return Math.exp((-Math.log1p(growth) * paceMs) / 1000);
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

/** What this runner tells the others of a model (see ModelLimiter.sharedState): a row of core/store/rate-shares.ts. */
export type SharedState = Omit<RateShareEntry, 'modelKey'>;

/** What the runners sharing a model say of it (see ModelLimiter.share): what the others say, and how many share it, this one included. */
export type SharedView = Partial<Omit<PeerView, 'demanding' | 'blockedUntil'>> & { runners: number; blockedUntil: number };

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
  /** The current episode began with a refused probe (see throttle). */
  private probeEpisode = false;
  /** The pace kept through the calm before probing began (0: not probing): see throttle. */
  private goodPaceMs = 0;
  /** Whether a refusal confirmed the current episode (see throttle). */
  private confirmed = false;
  /**
   * A refused probe was followed by refusals of requests sent since, with nothing accepted between:
   * a fixed window refusing the rest of itself. Probes then climb gently (GENTLE_PROBE_GROWTH).
   */
  private windowLike = false;
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
  /** (Shared: 'sharing' waits for an exchange after the wave's answers, see shared.) */
  private firstWave: 'starting' | 'waiting' | 'sharing' | 'over';
  private firstWaveStarts = 0;
  private firstWaveAt = 0;
  private firstWaveEnd = 0;
  /**
   * A first wave accepted whole says the model's burst held it, not how fast it refills: sent at
   * once, the next wave may be refused whole (a provider that charges output tokens after the
   * answer lets a burst run into debt). So the next wave's starts are spread over half the time
   * the first took (SPREAD_SHARE of about one latency: a model with no limit loses a quarter of a
   * latency once), and the first refusal among them, back before most of them left, sets a pace
   * instead (see throttle).
   */
  private spread: { gapMs: number; left: number } | undefined;
  /** This runner's share of the model's limits (see share). */
  private shareOf = 1;
  /** At the last exchange, another runner was probing the pace (see throttle)... */
  private othersProbing = false;
  /** ...and what the others had accepted over their last second (see splitFactor). */
  private othersAccepted = 0;
  /** When the pace was last learned from a refusal, here or by another runner (see share). */
  private learnedAt = Number.NEGATIVE_INFINITY;
  /** Shared, and waiting for an exchange: starts wait until this time at most (see shared)... */
  private shareDue: number | undefined;
  /** ...for an exchange made at this time or later. */
  private shareFrom = Number.NEGATIVE_INFINITY;
  /**
   * At the last exchange (see share): what the others held of a declared budget, what this runner
   * had started in its window, whether it wanted the model, and when (see shareOfBudget).
   */
  private sharedBudget: { others: Reserved; own: Reserved; wants: boolean; at: number } | undefined;
  /** Until when the model is wanted: a start was asked for and told to wait till then, or made (see wanted). */
  private wantedUntil = Number.NEGATIVE_INFINITY;
  /** Whether the model's replies state its budget: unknown until a reply says (see statesBudget). */
  private stating: boolean | undefined;

  constructor(
    readonly key: string,
    budget: ModelBudget,
    options: LimiterOptions,
    /**
     * The model's replies were seen to state its budget before (another runner, an earlier run):
     * its first wave is one request, whose reply tells how many more the budget takes. Sent
     * blind, a first wave larger than what is left is refused in part before any reply can say
     * so; a model not known to state it keeps the full wave, as one latency spent on a scout
     * would learn nothing from it.
     */
    private readonly scout = false,
  ) {
    this.options = resolveOptions(options);
    this.declareBudget(budget);
    this.current = this.options.initialConcurrency;
    this.firstWave = this.options.firstWaveMs > 0 ? 'starting' : 'over';
    this.awaitShare();
  }

  /** Shared: no start until an exchange made from now on (asked for at once), or the wait is over. */
  private awaitShare(): void {
    if (!this.options.shared) return;
    const now = this.options.clock.now();
    this.shareDue = now + this.options.shared.waitMs;
    this.shareFrom = now;
    this.options.shared.exchange();
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
    return (
      this.inFlight < this.limit &&
      this.waitMs(estimatedTokens) === 0 &&
      (this.firstWave === 'over' || this.firstWave === 'starting') &&
      !this.awaitingStatement(estimatedTokens)
    );
  }

  /**
   * What the provider stated is spent and it said nothing of when more comes back: the replies of
   * the requests in flight will (like a missing slot, a reply frees it, so waitMs does not count it).
   * With none in flight, a start goes, and its reply tells.
   */
  private awaitingStatement(estimatedTokens: number): boolean {
    if (this.inFlight === 0) return false;
    const now = this.options.clock.now();
    return this.stated.requests.spentUntilTold(now, 1) || this.stated.tokens.spentUntilTold(now, this.tokenCost(estimatedTokens));
  }

  /** The first wave ends when its answers are back (or at firstWaveEnd); shared, once the others' are too. */
  private advanceWave(now: number): void {
    if (this.firstWave === 'waiting' && (this.inFlight === 0 || now >= this.firstWaveEnd)) {
      // Shared: the other runners' first waves may have been refused where this one's was not.
      this.firstWave = this.options.shared ? 'sharing' : 'over';
      this.awaitShare();
      // After a scout, the stated budget paces the starts: nothing to spread.
      if (this.throttled === 0 && this.paceMs === 0 && !this.scout) {
        const tookMs = Math.min(now, this.firstWaveEnd) - this.firstWaveAt;
        this.spread = { gapMs: (tookMs * SPREAD_SHARE) / this.firstWaveStarts, left: this.firstWaveStarts };
      }
    }
    if (this.firstWave === 'sharing' && this.shareDue === undefined) this.firstWave = 'over';
  }

  /**
   * Milliseconds until `canStart` could become true through time alone (Retry-After or the budget
   * window); 0 if it can start now or only slots are missing (a finishing request frees those).
   */
  waitMs(estimatedTokens = 0): number {
    const now = this.options.clock.now();
    if (this.shareDue !== undefined && now >= this.shareDue) this.shareDue = undefined;
    this.advanceWave(now);
    const waveWait = this.firstWave === 'waiting' && this.inFlight > 0 ? this.firstWaveEnd - now : 0;
    const statedWait = Math.max(this.stated.requests.waitMs(now, 1), this.stated.tokens.waitMs(now, this.tokenCost(estimatedTokens)));
    const shareWait = this.shareDue === undefined ? 0 : this.shareDue - now;
    const spacing = Math.max(this.paceMs, this.spread?.gapMs ?? 0);
    const timed = Math.max(0, this.blockedTill - now, this.lastStartAt + spacing - now, statedWait);
    // The wave's and the share's waits end on an event, often sooner: the model is wanted now. Nor
    // does a declared budget's wait count (up to a minute): a runner that spent its share of it
    // would keep the others from the rest long after its last task; its tasks ask again as the
    // window frees a start.
    this.wantUntil(now + timed);
    return Math.max(timed, waveWait, shareWait, this.budgetWaitMs(now, estimatedTokens));
  }

  /** A task for the model waits until `at` (told so here, or its retry delay): the model is still wanted then. */
  wantUntil(at: number): void {
    this.wantedUntil = Math.max(this.wantedUntil, at + DEMAND_MS);
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
    this.stating = true;
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
      this.spread === undefined &&
      this.shareDue === undefined &&
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

  /**
   * Whether the model's replies state its budget (headers of remaining requests or tokens):
   * known from the first answer, or the first reply that states it; undefined before. Remembered
   * across runs and runners (runner/rate-share.ts), it makes the next first wave a scout.
   */
  get statesBudget(): boolean | undefined {
    return this.stating;
  }

  /** The learned spacing of starts in ms (0: none). */
  get pace(): number {
    return this.paceMs;
  }

  /** A request starts; the caller checked `canStart`. */
  start(estimatedTokens = 0): void {
    const now = this.options.clock.now();
    this.wantUntil(now);
    this.window.prune(now);
    const estimate = Math.max(0, estimatedTokens);
    const tokenCost = this.tokenCost(estimate);
    this.running.push({ seq: ++this.lastSeq, position: this.window.add(now, estimate), startedAt: now, tokenCost });
    this.stated.requests.spend(1);
    this.stated.tokens.spend(tokenCost);
    // Shared, the first wave is this runner's share of one runner's, so that all together send one.
    if (this.firstWave === 'starting') {
      if (this.firstWaveStarts === 0) this.firstWaveAt = now;
      if (++this.firstWaveStarts >= (this.scout ? 1 : Math.ceil(this.options.maxConcurrency * this.shareOf))) {
        this.firstWave = 'waiting';
        this.firstWaveEnd = now + this.options.firstWaveMs;
        // The others hear at once that its wave is out: they wait for it before learning from theirs.
        this.options.shared?.exchange();
      }
    } else if (this.spread && this.firstWave === 'over' && --this.spread.left <= 0) {
      this.spread = undefined;
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

  /**
   * A task sent `n` requests more than the one it started with (a tool loop's
   * turns, a judge's several steps). They count against a declared budget as
   * the first did, dated now (they were made by now, so they leave the window
   * no sooner than they should); their tokens came with the outcome. A stated
   * allowance needs nothing: the last reply's headers already counted them.
   */
  moreCalls(n: number): void {
    if (!(n > 0)) return;
    const now = this.options.clock.now();
    this.window.prune(now);
    for (let i = 0; i < n; i++) this.window.add(now, 0);
  }

  /** A request succeeded: additive increase, +1/limit per success (so +1 per window), up to the max; a calm pace probes upward. */
  succeed(tokensUsed?: number, sentAt?: number): void {
    const request = this.finish(sentAt);
    const now = this.options.clock.now();
    // An answer that stated nothing (observe comes first): the model does not state its budget.
    this.stating ??= false;
    // Actual usage replaces the estimate, still dated at the start so it leaves the window on time.
    if (request && tokensUsed != null) this.window.setTokens(request.position, tokensUsed);
    if (tokensUsed != null) this.meanTokens = this.meanTokens === 0 ? tokensUsed : this.meanTokens * 0.9 + tokensUsed * 0.1;
    this.calmSuccesses++;
    this.setLimit(this.current + 1 / this.current, 'success');
    // The rate may have been underestimated, or raised since: probe, and let the next refusal re-learn it.
    // Calm counts from the end of a block too: a block lets the model's bucket fill, and a probe
    // funded by that burst would see a rate the model does not keep.
    if (this.paceMs > 0 && now - Math.max(this.lastThrottleAt, this.blockedTill) >= this.calmMs && now >= this.episodeEnd) {
      // The pace a calm was kept at was accepted: a refusal of the probe goes back to it (see throttle).
      if (this.goodPaceMs === 0) this.goodPaceMs = this.paceMs;
      const next = this.paceMs * probeStep(this.paceMs, this.windowLike ? GENTLE_PROBE_GROWTH : PROBE_GROWTH);
      this.paceMs = next < MIN_PACE_MS ? 0 : next;
    }
  }

  /**
   * A request was refused (429, or a 503/529 overload), asking to wait `retryAfterMs` if it said.
   * The refused request waits that itself (its retry delay); the others only keep to the pace
   * learned here, unless this refusal shows the pace was not enough: then all wait.
   */
  throttle(retryAfterMs?: number, sentAt?: number): void {
    const request = this.finish(sentAt);
    const now = this.options.clock.now();
    this.throttled += 1;
    this.spread = undefined;
    this.stated.requests.refused(now);
    this.stated.tokens.refused(now);
    const startedAt = request?.startedAt ?? Number.NEGATIVE_INFINITY;
    if (startedAt > Number.NEGATIVE_INFINITY) this.refusedStarts.push(startedAt);
    this.refusedStarts = this.refusedStarts.filter((t) => t > now - BUDGET_WINDOW_MS);
    const paced = this.paceMs > 0;
    const wait = retryAfterMs != null && retryAfterMs > 0 ? retryAfterMs : 0;
    const confirming = now < this.episodeEnd && startedAt > this.episodeStart;
    // What the model accepted since the episode began, once that is long enough to tell.
    const since = confirming && now - this.episodeStart >= CONFIRM_MEASURE_MS ? this.measuredPace(now, this.episodeStart) : 0;
    // Refusals after a refused probe are its echo (a window still holding the excess sent before):
    // all of them in the first moments, and later those while the model still accepts about the
    // pace (a sliding window lets the excess out a little at a time; a fixed window refusing until
    // its end accepts next to nothing, which a confirmation blocks for).
    const echo = this.probeEpisode && (now - this.episodeStart < CONFIRM_MEASURE_MS || (since > 0 && since < this.paceMs / CONFIRMED_SLOWDOWN));
    if (this.probeEpisode && confirming && this.acceptedBetween(this.episodeStart, now) === 0 && this.refusedStarts.filter((t) => t > this.episodeStart).length >= 2) {
      this.windowLike = true;
    }
    if (confirming && !echo) {
      // Sent after the episode's pace took effect, and refused all the same. If what the model
      // accepted since the episode began (once that is long enough to tell) is a step slower than
      // the pace, the pace was too fast: it slows to that, and nothing is blocked. Otherwise the pace
      // does not explain it (nothing accepted: a quota spent, a window filled by a burst), and the
      // server's word holds for every start: its Retry-After blocks them; without one, the pace
      // slows by a step.
      const explained = since > 0 && (!paced || (since >= this.paceMs / CONFIRMED_SLOWDOWN && since <= this.paceMs * MAX_CONFIRMED_SLOWDOWN));
      if (explained) {
        this.paceMs = since;
      } else if (wait > 0) {
        this.blocks.push([Math.max(now, this.blockedTill), now + wait]);
        this.blockedTill = Math.max(this.blockedTill, now + wait);
      } else if (paced) {
        this.paceMs /= CONFIRMED_SLOWDOWN;
      }
      this.probeEpisode = false;
      if (!this.confirmed) this.calmMs = Math.min(MAX_CALM_MS, this.calmMs * 2);
      this.confirmed = true;
      this.beginEpisode(now, wait);
    } else if (now < this.episodeEnd) {
      // In flight with the refusal that began the episode: more of the same burst, the estimate
      // only tightens, measured up to the episode's start. After a probe or a confirmation, these
      // are its echo (a window still holding the excess sent before): nothing new about the rate.
      if (!this.confirmed && !this.probeEpisode) {
        const learned = this.measuredPace(this.episodeStart, this.measureFrom);
        if (learned > 0) this.paceMs = Math.max(this.paceMs, learned);
      } else if (this.probeEpisode && !this.confirmed) {
        // A probe that costs more than its own refusal (a fixed window refuses the rest of itself)
        // is made less often, as a confirmed refusal makes it.
        this.calmMs = Math.min(MAX_CALM_MS, this.calmMs * 2);
        this.confirmed = true;
      }
    } else {
      if (!this.confirmed) this.calmMs = Math.max(CALM_MS, this.calmMs / 2);
      this.confirmed = false;
      this.measureFrom = now - this.episodeStart >= PACE_WINDOW_MS && now - this.episodeStart < BUDGET_WINDOW_MS ? this.episodeStart : now - PACE_WINDOW_MS;
      const learned = this.measuredPace(now, this.measureFrom);
      // What was accepted between two refusals is a bucket's refill rate, but under a limit that
      // counts windows it is only what was sent: everything sent under such a limit is accepted, and
      // 95% of it would ratchet the pace down with every probe. So a refused probe goes back to the
      // pace the calm was kept at (it was accepted), or to what the last two seconds accepted (a
      // window refuses once it holds its whole allowance), whichever is faster. Any other refusal
      // under a pace slows it by a step at most (the average may hold the last episode's echo). A
      // pace still too fast is refused again within the episode, which measures it (see above).
      // Shared, a refusal while another runner probes is that probe's: it goes back to the pace this
      // runner kept (the prober adopts it at the next exchange), rather than slowing all of them.
      const good = this.goodPaceMs || (this.othersProbing && paced ? this.paceMs : 0);
      this.probeEpisode = good > 0;
      const allowance = good > 0 ? this.allowancePace(now) : 0;
      const step = good === 0 && paced ? this.paceMs / CONFIRMED_SLOWDOWN : 0;
      const fastest = [learned, allowance, good, step].filter((p) => p > 0);
      if (fastest.length) this.paceMs = Math.min(...fastest);
      this.beginEpisode(now, wait);
    }
    this.lastThrottleAt = now;
    this.goodPaceMs = 0;
    if (this.paceMs > 0) this.learnedAt = now;
    // What this refusal taught holds for the other runners too: they hear of it now, not at the next tick.
    this.options.shared?.exchange();
    // The pace is what holds a rate limit; without one, fewer requests at once is all there is.
    if (paced) this.calmSuccesses = 0;
    else this.decrease(request, 'throttle');
  }

  private beginEpisode(now: number, retryAfterMs: number): void {
    this.episodeStart = now;
    this.episodeEnd = now + (retryAfterMs || PACE_WINDOW_MS);
  }

  /** A request failed: timeouts and 5xx halve the limit like a 429 (no block); 'other' only frees the slot. */
  fail(kind: 'timeout' | 'server' | 'other', sentAt?: number): void {
    const request = this.finish(sentAt);
    if (kind !== 'other') this.decrease(request, kind);
  }

  /** What this runner tells the others sharing the model: whether it wants it, its pace for all of them together, its block. */
  sharedState(): SharedState {
    const now = this.options.clock.now();
    const pace = this.paceMs > 0 && this.learnedAt > Number.NEGATIVE_INFINITY ? { paceMs: this.paceMs * this.shareOf, learnedAt: this.learnedAt } : {};
    const own = this.spentInWindow(now);
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.budget;
    // Before its first exchange, it holds only its starts (it is waiting for its share).
    const held = this.sharedBudget !== undefined;
    const reserved = {
      requests: rpm != null && held ? this.shareOfBudget(rpm, 'requests', now) : own.requests,
      tokens: tpm != null && held ? this.shareOfBudget(tpm, 'tokens', now) : own.tokens,
    };
    const accepted = this.acceptedBetween(now - PACE_WINDOW_MS, now);
    const waveOpen = this.inFlight > 0 && (this.firstWave === 'starting' || this.firstWave === 'waiting');
    return { demand: this.wanted(now), ...pace, probing: this.goodPaceMs > 0, accepted, waveOpen, blockedUntil: this.blockedTill, reserved };
  }

  /** Requests started in the budget window, and their tokens. */
  private spentInWindow(now: number): Reserved {
    this.window.prune(now);
    return { requests: this.window.size, tokens: this.window.totalTokens };
  }

  private wanted(now: number): boolean {
    return this.inFlight > 0 || now < this.wantedUntil;
  }

  /**
   * What the runners sharing the model say (runner/rate-share.ts). This runner takes 1/runners of
   * the limits; the total pace stays what it was (each runner's spacing scales with the count). A
   * pace learned by another runner after this one last learned its own replaces it, and starts a
   * calm before probing, as a refusal here would; a later block holds here too.
   * Returns true if it now holds back what it let through (tasks waiting at workers come back).
   */
  share(view: SharedView): boolean {
    const now = this.options.clock.now();
    const wasOpen = this.open;
    // A first wave ends when no runner has any of it out: only then are their counts final.
    // (Once: a wave given up on after the wait, or blocked, ends without it.)
    const waveSettled = this.firstWave === 'sharing' && this.shareDue !== undefined && now >= this.shareFrom && !view.waveOpen;
    if (waveSettled) this.firstWave = 'over';
    if (now >= this.shareFrom && (waveSettled || this.firstWave !== 'sharing')) this.shareDue = undefined;
    const share = 1 / Math.max(1, view.runners);
    if (share !== this.shareOf) {
      this.paceMs *= this.shareOf / share;
      this.shareOf = share;
      this.stated.requests.share = share;
      this.stated.tokens.share = share;
    }
    if (view.paceMs !== undefined && view.learnedAt !== undefined && view.learnedAt > this.learnedAt) {
      this.paceMs = view.paceMs / share;
      this.learnedAt = view.learnedAt;
      this.lastThrottleAt = Math.max(this.lastThrottleAt, Math.min(view.learnedAt, now));
      this.calmSuccesses = 0;
      this.spread = undefined;
    }
    // A first wave is split among the runners, and so are its refusals: the model refuses the last
    // requests to arrive, whoever sent them, so one runner's part of what it accepted says little of
    // the whole. If any of the wave was refused, its pace is learned at the exchange that ends it
    // (the others have said what they had accepted by then) from what all of them had accepted.
    // Not alone (its own measure is whole), nor once the wave has left the second measured.
    const refusedInWave = this.throttled > 0 || (view.learnedAt ?? Number.NEGATIVE_INFINITY) >= this.firstWaveAt;
    this.othersProbing = view.probing ?? false;
    this.othersAccepted = view.accepted ?? 0;
    if (waveSettled && refusedInWave && view.runners > 1 && now - this.firstWaveAt < PACE_WINDOW_MS) {
      const pace = this.measuredPace(now, now - PACE_WINDOW_MS);
      if (pace > 0) {
        this.paceMs = pace;
        this.learnedAt = now;
      }
    }
    this.sharedBudget = { others: view.reserved ?? { requests: 0, tokens: 0 }, own: this.spentInWindow(now), wants: this.wanted(now), at: now };
    if (view.blockedUntil > Math.max(now, this.blockedTill)) {
      this.blocks.push([Math.max(now, this.blockedTill), view.blockedUntil]);
      this.blockedTill = view.blockedUntil;
    }
    return wasOpen && !this.open;
  }

  /** This runner's share of the model's limits (1: its own). */
  get shareOfLimits(): number {
    return this.shareOf;
  }

  stats(): { key: string; limit: number; inFlight: number; throttled: number; blockedUntil: number; paceMs: number; share: number } {
    const paceMs = Math.round(this.paceMs * 10) / 10;
    return { key: this.key, limit: this.limit, inFlight: this.inFlight, throttled: this.throttled, blockedUntil: this.blockedTill, paceMs, share: Math.round(this.shareOf * 100) / 100 };
  }

  /**
   * Frees one slot: the request sent at `sentAt` (the last started by then: it started before it was
   * sent) when the reply says, else the oldest (token totals don't depend on the choice, and for cuts
   * it errs towards skipping, see `decrease`). Which one matters to a refusal: one sent after its
   * episode began confirms it, one in flight with the refusal that began it does not (see throttle).
   * Failed requests keep their estimate: the provider may have counted them, and budgets are hard.
   */
  private finish(sentAt?: number): InFlightRequest | undefined {
    let i = 0;
    if (sentAt !== undefined) while (i + 1 < this.running.length && this.running[i + 1].startedAt <= sentAt) i++;
    const request = this.running.splice(i, 1)[0];
    // Alone, the first wave's last answer ends it now, not when a start is next asked for (a block
    // delays that). Shared, it ends when a start is asked for: ending it here measured slower on
    // shared3 (README, "Several runners"), for reasons not understood yet.
    if (!this.options.shared && this.firstWave === 'waiting' && this.running.length === 0) this.advanceWave(this.options.clock.now());
    return request;
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
    // Time blocked is left out: a window that refused until its end does not give back what
    // the block left unused.
    this.blocks = this.blocks.filter(([, till]) => till > now - BUDGET_WINDOW_MS);
    let blocked = 0;
    for (const [from, till] of this.blocks) blocked += Math.max(0, Math.min(till, now) - Math.max(from, since));
    // Never a zero span: a measure that short says little, and must not divide by nothing.
    const offered = Math.max(now - since - blocked, PACE_WINDOW_MS / 10);
    return this.paceFor(this.acceptedBetween(since, now), offered) * this.splitFactor(now);
  }

  /**
   * Shared, a runner's own measure is of its part of what the model accepted, and that part is its
   * share only on average: the model refuses whichever requests arrive last (a first wave's, say,
   * all from one runner). So its measure is scaled by its part of what all of them had accepted over
   * the last second (the others' as of the last exchange) over its share: the pace it learns is then
   * its share of what all of them were accepted. 1 when not shared or nothing is known.
   */
  private splitFactor(now: number): number {
    const own = this.acceptedBetween(now - PACE_WINDOW_MS, now);
    if (this.shareOf >= 1 || own < 1 || this.othersAccepted < 1) return 1;
    return own / (own + this.othersAccepted) / this.shareOf;
  }

  /** Requests started in (since, now], less those of them refused. */
  private acceptedBetween(since: number, now: number): number {
    const refused = this.refusedStarts.filter((t) => t > since && t <= now).length;
    return this.window.after(since).starts - this.window.after(now).starts - refused;
  }

  /** The spacing at PACE_SHARE of `accepted` requests over `spanMs`; 0 for none. */
  private paceFor(accepted: number, spanMs: number): number {
    return accepted >= 1 ? spanMs / (accepted * PACE_SHARE) : 0;
  }

  /**
   * The spacing at PROBE_SHARE of what the last PROBE_MEASURE_MS accepted. Two seconds, not one: a
   * fixed window's count restarts at its boundary, and a second astride two windows may hold more
   * than either allows; over two, the excess is halved, and the lower share covers the rest.
   */
  private allowancePace(now: number): number {
    return (this.measuredPace(now, now - PROBE_MEASURE_MS) * PACE_SHARE) / PROBE_SHARE;
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

  /**
   * What this runner holds of a declared budget: what it may have in the budget window. Shared, it
   * is set at each exchange, which the others make one at a time (core/store/rate-shares.ts): what
   * it had started then, plus, if it wants the model, what it lacks of its fair share (the budget
   * over the runners that want the model), as far as what the others do not hold allows. Counting
   * what the others hold (their starts and what they may still start), not only their starts, is
   * what keeps runners to one budget between exchanges, and when one runs out of tasks (it then
   * holds only its starts; the others share out the rest as those leave the window). Its own starts
   * leaving the window make room here, the others' at the next exchange; an exchange a window old
   * no longer counts the others (all their starts have left it). Of requests, a whole number, and
   * one while any is left and it holds none: a fair share of less than one would stop every runner.
   */
  private shareOfBudget(budget: number, of: keyof Reserved, now: number): number {
    const shared = this.sharedBudget;
    if (!shared) return budget;
    const own = shared.own[of];
    const others = now - shared.at < BUDGET_WINDOW_MS ? shared.others[of] : 0;
    const left = shared.wants ? Math.max(0, budget - others - own) : 0;
    const lacking = Math.min(left, Math.max(0, budget * this.shareOf - own));
    if (of === 'tokens') return own + lacking;
    return own + (Math.floor(lacking) === 0 && own === 0 && left >= 1 ? 1 : Math.floor(lacking));
  }

  /** How long until the oldest starts leave the window and make room for one more; 0 if there is room. */
  private budgetWaitMs(now: number, estimatedTokens: number): number {
    const { requestsPerMinute: declaredRpm, tokensPerMinute: declaredTpm } = this.budget;
    if (declaredRpm == null && declaredTpm == null) return 0;
    const rpm = declaredRpm == null ? null : this.shareOfBudget(declaredRpm, 'requests', now);
    const tpm = declaredTpm == null ? null : this.shareOfBudget(declaredTpm, 'tokens', now);
    this.window.prune(now);
    const starts = this.window.size;
    let wait = 0;
    if (rpm != null && starts >= rpm) {
      // The start that must leave so that this one is the rpm-th in the window; with none here, the
      // others' starts fill the shared budget: room comes with an exchange, or once that one is a window old.
      wait = rpm > 0 ? this.window.leavesAt(starts - rpm) - now : (this.sharedBudget?.at ?? now) + BUDGET_WINDOW_MS - now;
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

  /** Models whose replies were seen to state their budget (true) or not (false): see remember. */
  private readonly stating = new Map<string, boolean>();

  /** What earlier runs and other runners saw of models' replies: a model that states its budget starts with a scout (see ModelLimiter). */
  remember(statesBudget: Map<string, boolean>): void {
    for (const [key, states] of statesBudget) this.stating.set(key, states);
  }

  /** What is remembered of the model's replies (see remember); undefined: nothing yet. */
  remembered(key: string): boolean | undefined {
    return this.stating.get(key);
  }

  /** The limiter for `key`, created on first use; a budget given is declared to it (see declareBudget). */
  get(key: string, budget?: ModelBudget): ModelLimiter {
    let limiter = this.byKey.get(key);
    if (!limiter) {
      limiter = new ModelLimiter(key, budget ?? {}, this.options, this.stating.get(key) === true);
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
