/**
 * How fast the runner follows a model limit changed mid-run (issue 16: "the
 * accepted rate follows within 5 s each time"). For each change of a
 * requests-per-second bucket, the time from the change until the model's
 * accepted rate over the trailing second first lies within 10% of the new
 * limit: for a cut, the runner no longer backs off below it; for a raise, it
 * has climbed to it.
 */
import type { LimitChange, LimitSpec } from './stub-limits.js';

export interface Follow {
  atMs: number;
  fromPerSecond: number;
  toPerSecond: number;
  /** null: never within 10% before the next change or the run's end. */
  withinMs: number | null;
}

const TOLERANCE = 0.1;
const TRAILING_MS = 1000;

function perSecond(limits: LimitSpec[]): number | undefined {
  const spec = limits[0];
  return spec && 'perSecond' in spec && spec.unit === 'requests' ? spec.perSecond : undefined;
}

/** `arrivals`: accepted requests' arrival times (epoch ms, ascending); `firstAt`: the first request's, when the schedule starts. */
export function followTimes(initial: LimitSpec[], schedule: readonly LimitChange[], arrivals: number[], firstAt: number): Follow[] {
  const follows: Follow[] = [];
  let from = perSecond(initial);
  const changes = [...schedule].sort((a, b) => a.afterMs - b.afterMs);
  const end = arrivals.length ? arrivals[arrivals.length - 1] : firstAt;
  changes.forEach((change, i) => {
    const to = perSecond(change.limits);
    if (from === undefined || to === undefined) return;
    const at = firstAt + change.afterMs;
    const until = i + 1 < changes.length ? firstAt + changes[i + 1].afterMs : end;
    let withinMs: number | null = null;
    // The trailing second ends at each arrival after the change (where the count can only rise)
    // and a second after each (where it can only fall): those are the only moments it changes.
    const moments = arrivals.filter((t) => t >= at && t <= until).flatMap((t) => [t, t + TRAILING_MS]).filter((t) => t >= at + TRAILING_MS && t <= until);
    moments.sort((a, b) => a - b);
    let lo = 0;
    let hi = 0;
    for (const t of moments) {
      while (hi < arrivals.length && arrivals[hi] <= t) hi++;
      while (lo < hi && arrivals[lo] <= t - TRAILING_MS) lo++;
      const rate = hi - lo;
      if (Math.abs(rate - to) <= to * TOLERANCE) {
        withinMs = t - at;
        break;
      }
    }
    follows.push({ atMs: change.afterMs, fromPerSecond: from, toPerSecond: to, withinMs });
    from = to;
  });
  return follows;
}
