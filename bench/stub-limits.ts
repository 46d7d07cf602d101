/**
 * The stub model's rate limits, kept the way gateways keep them: token
 * buckets (a rate per second and a burst) and fixed windows (so many per
 * window, 60 s by default), for requests or tokens. Pure arithmetic on an
 * injected clock, so tests can drive it without timers; bench/stub-model.ts
 * applies it to real requests and bench/stub-limit-headers.ts tells clients
 * about it.
 */
import { BenchError } from './api.js';

/** What a limit counts. The token units follow Anthropic's split (input, output) and OpenAI's sum (tokens). */
export type LimitUnit = 'requests' | 'tokens' | 'input-tokens' | 'output-tokens';

/** A token bucket: starts full at `burst`, refills `perSecond` continuously, never above `burst`. */
export interface BucketSpec {
  unit: LimitUnit;
  perSecond: number;
  burst: number;
}

/**
 * A fixed window: at most `perWindow` in a window of `windowMs` (default
 * 60 s). A window opens with the first request counted after the previous
 * one closed, so "the 3,001st request of a minute" means of the minute that
 * request's first predecessor opened.
 */
export interface WindowSpec {
  unit: LimitUnit;
  perWindow: number;
  windowMs?: number;
}

export type LimitSpec = BucketSpec | WindowSpec;

/** From `afterMs` after the first request, the limits become `limits` (matched by position; see StubLimits.change). */
export interface LimitChange {
  afterMs: number;
  limits: LimitSpec[];
}

/** What a request costs, in tokens; every request also costs 1 of a `requests` limit. */
export interface Cost {
  input: number;
  output: number;
}

/** One limit as a client would be told it. */
export interface LimitState {
  unit: LimitUnit;
  kind: 'bucket' | 'window';
  /** The bucket's burst or the window's allowance. */
  limit: number;
  /** Whole units left now, never negative. */
  remaining: number;
  /** Milliseconds until the budget is entirely back (bucket full, or window closed); 0 when it is. */
  resetMs: number;
  /** How the limit reads in a sentence: "50 requests per second", "3000 requests per minute". */
  describe: string;
}

export type Admission = { ok: true } | { ok: false; retryAfterMs: number; refusedBy: LimitState };

export const DEFAULT_WINDOW_MS = 60_000;

export const isBucket = (spec: LimitSpec): spec is BucketSpec => 'perSecond' in spec;

function costIn(unit: LimitUnit, cost: Cost): number {
  switch (unit) {
    case 'requests':
      return 1;
    case 'tokens':
      return cost.input + cost.output;
    case 'input-tokens':
      return cost.input;
    case 'output-tokens':
      return cost.output;
  }
}

interface Budget {
  readonly spec: LimitSpec;
  /** Brings the budget to `now` (refill, or close an expired window). */
  advance(now: number): void;
  has(amount: number): boolean;
  take(amount: number, now: number): void;
  /** Milliseconds from `now` until `amount` fits (after advance). */
  waitMs(amount: number, now: number): number;
  state(now: number): LimitState;
  /** Same kind, new numbers: keeps what was used. */
  retune(spec: LimitSpec): void;
}

const per = (unit: LimitUnit) => unit.replace('-', ' ');

class Bucket implements Budget {
  private level: number;
  private at: number;

  constructor(
    public spec: BucketSpec,
    now: number,
  ) {
    if (!(spec.perSecond > 0 && spec.burst >= 1)) throw new BenchError(`a bucket needs perSecond > 0 and burst ≥ 1, got ${JSON.stringify(spec)}`);
    this.level = spec.burst;
    this.at = now;
  }

  advance(now: number): void {
    if (now > this.at) this.level = Math.min(this.spec.burst, this.level + ((now - this.at) * this.spec.perSecond) / 1000);
    this.at = Math.max(this.at, now);
  }

  has(amount: number): boolean {
    return this.level >= amount;
  }

  take(amount: number): void {
    // May go below 0 when output tokens are charged after the fact: the debt delays what follows.
    this.level -= amount;
  }

  waitMs(amount: number): number {
    // More than the burst never fits: announce the time to a full bucket, as a gateway would.
    const target = Math.min(amount, this.spec.burst);
    return Math.max(0, ((target - this.level) * 1000) / this.spec.perSecond);
  }

  state(): LimitState {
    return {
      unit: this.spec.unit,
      kind: 'bucket',
      limit: this.spec.burst,
      remaining: Math.max(0, Math.floor(this.level)),
      resetMs: Math.max(0, ((this.spec.burst - this.level) * 1000) / this.spec.perSecond),
      describe: `${this.spec.perSecond} ${per(this.spec.unit)} per second (burst ${this.spec.burst})`,
    };
  }

  retune(spec: LimitSpec): void {
    this.spec = spec as BucketSpec;
    this.level = Math.min(this.level, this.spec.burst);
  }
}

class Window implements Budget {
  private start: number | undefined;
  private used = 0;

  constructor(public spec: WindowSpec) {
    if (!(spec.perWindow >= 1 && (spec.windowMs ?? DEFAULT_WINDOW_MS) > 0)) throw new BenchError(`a window needs perWindow ≥ 1 and windowMs > 0, got ${JSON.stringify(spec)}`);
  }

  private get length(): number {
    return this.spec.windowMs ?? DEFAULT_WINDOW_MS;
  }

  advance(now: number): void {
    if (this.start !== undefined && now >= this.start + this.length) {
      this.start = undefined;
      this.used = 0;
    }
  }

  has(amount: number): boolean {
    return this.used + amount <= this.spec.perWindow;
  }

  take(amount: number, now: number): void {
    this.start ??= now;
    this.used += amount;
  }

  waitMs(_amount: number, now: number): number {
    return this.start === undefined ? 0 : this.start + this.length - now;
  }

  state(now: number): LimitState {
    const span = this.length === 60_000 ? 'minute' : this.length === 1000 ? 'second' : `${this.length} ms`;
    return {
      unit: this.spec.unit,
      kind: 'window',
      limit: this.spec.perWindow,
      remaining: Math.max(0, this.spec.perWindow - this.used),
      resetMs: this.start === undefined ? 0 : this.start + this.length - now,
      describe: `${this.spec.perWindow} ${per(this.spec.unit)} per ${span}`,
    };
  }

  retune(spec: LimitSpec): void {
    this.spec = spec as WindowSpec;
  }
}

const budgetFor = (spec: LimitSpec, now: number): Budget => (isBucket(spec) ? new Bucket(spec, now) : new Window(spec));

/**
 * A set of limits that all must allow a request. A refused request costs
 * nothing (as the stub always did: only accepted requests count).
 */
export class StubLimits {
  private budgets: Budget[];
  private firstAt: number | undefined;
  private readonly pending: LimitChange[];

  constructor(
    limits: readonly LimitSpec[],
    private readonly now: () => number = Date.now,
    schedule: readonly LimitChange[] = [],
  ) {
    const t = now();
    this.budgets = limits.map((spec) => budgetFor(spec, t));
    this.pending = [...schedule].sort((a, b) => a.afterMs - b.afterMs);
  }

  /** Admits the request and charges it to every limit, or refuses it with the delay until it would fit. */
  admit(cost: Cost): Admission {
    const t = this.now();
    this.firstAt ??= t;
    this.applySchedule(t);
    for (const b of this.budgets) b.advance(t);
    // Refused by the limit that frees last: retrying earlier would only be refused again.
    let refusal: { ok: false; retryAfterMs: number; refusedBy: LimitState } | undefined;
    for (const b of this.budgets) {
      const amount = costIn(b.spec.unit, cost);
      if (b.has(amount)) continue;
      const wait = b.waitMs(amount, t);
      if (!refusal || wait > refusal.retryAfterMs) refusal = { ok: false, retryAfterMs: wait, refusedBy: b.state(t) };
    }
    if (refusal) return refusal;
    for (const b of this.budgets) b.take(costIn(b.spec.unit, cost), t);
    return { ok: true };
  }

  /** Charges what was only known later (output tokens of a request sent without max_tokens); never refuses. */
  charge(cost: Cost): void {
    const t = this.now();
    for (const b of this.budgets) {
      if (b.spec.unit === 'requests') continue;
      b.advance(t);
      b.take(costIn(b.spec.unit, cost), t);
    }
  }

  /** Every limit now, in the order given. */
  states(): LimitState[] {
    const t = this.now();
    this.applySchedule(t);
    return this.budgets.map((b) => {
      b.advance(t);
      return b.state(t);
    });
  }

  /** Per unit, the limit closest to refusing (least remaining, then latest reset): what a gateway's headers report. */
  tightest(): Map<LimitUnit, LimitState> {
    const out = new Map<LimitUnit, LimitState>();
    for (const s of this.states()) {
      const prev = out.get(s.unit);
      if (!prev || s.remaining < prev.remaining || (s.remaining === prev.remaining && s.resetMs > prev.resetMs)) out.set(s.unit, s);
    }
    return out;
  }

  /**
   * New limits from now on, matched by position: a limit of the same kind
   * keeps what was used (a bucket its level, capped at the new burst; a
   * window its count and end), any other starts afresh.
   */
  change(limits: readonly LimitSpec[]): void {
    this.changeAt(limits, this.now());
  }

  private changeAt(limits: readonly LimitSpec[], t: number): void {
    this.budgets = limits.map((spec, i) => {
      const old = this.budgets[i];
      if (old && isBucket(old.spec) === isBucket(spec)) {
        old.advance(t);
        old.retune(spec);
        return old;
      }
      return budgetFor(spec, t);
    });
  }

  private applySchedule(t: number): void {
    // At the change's own time, not the caller's: what refilled before it did so at the old rate.
    while (this.firstAt !== undefined && this.pending.length && t >= this.firstAt + this.pending[0].afterMs) {
      const change = this.pending.shift()!;
      this.changeAt(change.limits, this.firstAt + change.afterMs);
    }
  }
}
