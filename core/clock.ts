/**
 * Time, as the runner's schedulers read and wait on it: the system's clock in
 * production, a hand-driven one in tests (test/support/manual-clock.ts), so
 * that what a component does at a given time is tested without waiting for it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** A pending timer; only its clock knows what it holds. */
export type Timer = object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Cancels a timer that has not fired; anything else is ignored. */
  clearTimeout(timer: Timer | undefined): void;
  /** Resolves `ms` from now; rejects as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};
