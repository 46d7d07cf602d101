/**
 * One rate limit for many runners. Several runners (Fargate tasks, or local
 * processes) drain one queue and call the same provider: each one's limiter
 * alone would let n runners send n times what one may. Every `intervalMs`,
 * each runner tells the others through PostgreSQL (core/store/rate-shares.ts)
 * which models it wants now, the pace it learned from its last refusal and
 * any Retry-After block it holds, and reads theirs: each limiter then takes
 * its share of the model's limits, adopts the latest pace learned anywhere
 * and any later block (ModelLimiter.share). The database is read in the
 * background, never on a call's path: between two reads, each runner keeps
 * to its share on its own. Which models state their budget in their replies
 * outlives the runners: read at start, recorded when seen (see
 * ModelLimiter's scout).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { exchangeRates, forgetRunner, readBudgetStatements, recordBudgetStatements, type SharedRates } from '../core/store/rate-shares.js';
import type { Limiters } from './limiter.js';

export interface RateShareOptions {
  pool: pg.Pool;
  limiters: Limiters;
  logger: Logger;
  /** How often the runners' views are exchanged. */
  intervalMs: number;
  /** The limits changed for these models: their waiting tasks may go, or must come back (see ModelLimiter.share). */
  onChange: (closed: string[]) => void;
  clock?: Clock;
  /** @defaultvalue a new id per process */
  runnerId?: string;
}

/** A runner not heard from for this many intervals is gone: its share goes to the others. */
const LIVE_INTERVALS = 10;
/** Rows of a runner gone this long are deleted (a stop deletes its own at once). */
const FORGET_MS = 10 * 60_000;

export class RateShare {
  readonly runnerId: string;
  private readonly clock: Clock;
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Models shared at least once (see exchangeOnce). */
  private readonly seen = new Set<string>();
  private failing = false;
  /** A `soon` exchange is set: the refusals of one burst ask for one. */
  private soonPending = false;
  /** The exchange asked for during the one running. */
  private queued: Promise<void> | undefined;

  constructor(private readonly options: RateShareOptions) {
    this.clock = options.clock ?? systemClock;
    this.runnerId = options.runnerId ?? `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  /**
   * Reads which models state their budget (the limiters made from now on know it), then exchanges
   * at once (the runner's presence, before it takes any task), then every interval.
   */
  async start(): Promise<void> {
    try {
      this.options.limiters.remember(await readBudgetStatements(this.options.pool));
    } catch (err) {
      // Only first waves lose by it: they go out whole, as for a model never met.
      this.options.logger.warn('rate_share_failed', { error: (err as Error).message, during: 'start' });
    }
    await this.exchange();
  }

  /** Exchange now rather than at the next tick: a limiter waits for it, or learned what the others must know (see LimiterOptions.shared). */
  soon(): void {
    if (this.stopped || this.soonPending) return;
    this.soonPending = true;
    // After the current task: a limiter asks from its constructor, before it is listed.
    queueMicrotask(() => {
      this.soonPending = false;
      void this.exchange();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.running;
    await this.queued;
    await forgetRunner(this.options.pool, this.runnerId).catch((err: Error) =>
      this.options.logger.warn('rate_share_failed', { error: err.message, during: 'stop' }),
    );
  }

  /**
   * One exchange; never two at once: asked for during one, it follows that one (once, however
   * often it was asked), and the promise is of the one that follows.
   */
  exchange(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.queued ??= this.running.then(() => {
        this.queued = undefined;
        return this.exchange();
      });
      return this.queued;
    }
    this.clock.clearTimeout(this.timer);
    this.running = this.exchangeOnce().finally(() => {
      this.running = undefined;
      if (!this.stopped) this.timer = this.clock.setTimeout(() => void this.exchange(), this.options.intervalMs);
    });
    return this.running;
  }

  private async exchangeOnce(): Promise<void> {
    const limiters = this.options.limiters.all();
    const closed: string[] = [];
    // What the others say is applied, then what this runner now holds is written, in one transaction.
    const decide = (shared: SharedRates) =>
      limiters.map((limiter) => {
        const view = shared.byModel.get(limiter.key);
        const first = !this.seen.has(limiter.key);
        this.seen.add(limiter.key);
        // A model met since the last exchange: the others get its tasks from the same queue at the
        // same time but may not have said so yet, so its first share is among all live runners
        // (together they send one first wave, not one each).
        const others = first ? Math.max(shared.peers, view?.demanding ?? 0) : (view?.demanding ?? 0);
        if (limiter.share({ ...view, runners: 1 + others, blockedUntil: view?.blockedUntil ?? 0 })) {
          closed.push(limiter.key);
        }
        return { modelKey: limiter.key, ...limiter.sharedState() };
      });
    const seen = new Map<string, boolean>();
    for (const limiter of limiters) {
      const states = limiter.statesBudget;
      if (states !== undefined && states !== this.options.limiters.remembered(limiter.key)) seen.set(limiter.key, states);
    }
    try {
      await exchangeRates(this.options.pool, this.runnerId, limiters.map((l) => l.key), decide, this.options.intervalMs * LIVE_INTERVALS, FORGET_MS);
      await recordBudgetStatements(this.options.pool, seen);
      this.options.limiters.remember(seen);
    } catch (err) {
      // Each limiter keeps the last share it was given: the runner goes on at that share.
      if (!this.failing) this.options.logger.warn('rate_share_failed', { error: (err as Error).message });
      this.failing = true;
      return;
    } finally {
      // Limits applied, even if the write failed: waiting tasks may go, or must come back.
      this.options.onChange(closed);
    }
    if (this.failing) this.options.logger.info('rate_share_restored', {});
    this.failing = false;
  }
}
