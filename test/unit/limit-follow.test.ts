/** The bench's measure of how fast the runner follows a limit changed mid-run (bench/limit-follow.ts). */
import { followTimes } from '../../bench/limit-follow.js';
import type { LimitChange } from '../../bench/stub-limits.js';

const bucket = (perSecond: number) => ({ unit: 'requests' as const, perSecond, burst: perSecond });

/** Accepted arrivals at `rate` per second from `from` to `to` (ms). */
function steady(rate: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from; t < to; t += 1000 / rate) out.push(t);
  return out;
}

describe('followTimes', () => {
  const schedule: LimitChange[] = [
    { afterMs: 6000, limits: [bucket(25)] },
    { afterMs: 12_000, limits: [bucket(75)] },
  ];

  it('times each change until the trailing second is within 10% of the new limit', () => {
    // 50/s, then 25/s at once after the cut, then 25/s for 3 s after the raise before 75/s.
    const arrivals = [...steady(50, 0, 6000), ...steady(25, 6000, 15_000), ...steady(75, 15_000, 20_000)];
    const [cut, raise] = followTimes([bucket(50)], schedule, arrivals, 0);
    expect(cut).toMatchObject({ atMs: 6000, fromPerSecond: 50, toPerSecond: 25 });
    // The first whole second after the cut is already at 25.
    expect(cut.withinMs).toBe(1000);
    expect(raise).toMatchObject({ atMs: 12_000, fromPerSecond: 25, toPerSecond: 75 });
    // 68 of 75 (within 10%) in the trailing second: 3 s of 25/s, then about 0.9 s of 75/s.
    expect(raise.withinMs).toBeGreaterThan(3800);
    expect(raise.withinMs).toBeLessThan(4000);
  });

  it('says never when the rate never comes within 10% before the next change', () => {
    // Backed off to 10/s after the cut: never within 10% of 25.
    const arrivals = [...steady(50, 0, 6000), ...steady(10, 6000, 12_000), ...steady(75, 12_000, 20_000)];
    const [cut, raise] = followTimes([bucket(50)], schedule, arrivals, 0);
    expect(cut.withinMs).toBeNull();
    expect(raise.withinMs).toBe(1000);
  });
});
