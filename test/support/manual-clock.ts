/**
 * A clock that moves only when a test moves it: advance(ms) fires the timers
 * falling due on the way, in order of due time (then of setting), letting
 * promises settle after each, so what a timer's callback schedules in turn
 * also runs if it falls due within the same advance.
 */
import type { Clock, Timer } from '../../core/clock.js';

interface Pending {
  at: number;
  order: number;
  fn: () => void;
}

/** More timers than this in one advance: something sets them in a loop without waiting (a zero back-off). */
const MAX_TIMERS_PER_ADVANCE = 10_000;

/** Turns of the event loop given to promise chains after each timer: a chain awaiting another chain takes more than one. */
const SETTLE_TURNS = 5;

export class ManualClock implements Clock {
  private time: number;
  private order = 0;
  private pending: Pending[] = [];

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: Pending = { at: this.time + Math.max(0, ms), order: this.order++, fn };
    this.pending.push(timer);
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    this.pending = this.pending.filter((t) => t !== timer);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Timers not fired yet. */
  get timers(): number {
    return this.pending.length;
  }

  /** Moves time `ms` forward, firing the timers due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await settle();
    let fired = 0;
    for (let next = this.due(target); next; next = this.due(target)) {
      if (++fired > MAX_TIMERS_PER_ADVANCE) throw new Error(`more than ${MAX_TIMERS_PER_ADVANCE} timers fell due within ${ms} ms: a loop that does not wait?`);
      this.pending = this.pending.filter((t) => t !== next);
      this.time = next.at;
      next.fn();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** The first timer due at or before `target`. */
  private due(target: number): Pending | undefined {
    let first: Pending | undefined;
    for (const t of this.pending) if (t.at <= target && (!first || t.at < first.at || (t.at === first.at && t.order < first.order))) first = t;
    return first;
  }
}

/** Lets the promise chains that can run now run to their next wait. */
export async function settle(): Promise<void> {
  for (let i = 0; i < SETTLE_TURNS; i++) await new Promise((resolve) => setImmediate(resolve));
}
