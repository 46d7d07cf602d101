import { pairedDifference, summarize, tQuantile, wilsonInterval, type Aggregates } from '../../core/stats.js';

/** Aggregates as the SQL side would accumulate them, one score at a time. */
function aggregate(scores: Iterable<number>): Aggregates {
  const a: Aggregates = { count: 0, sum: 0, sumsq: 0, min: null, max: null };
  for (const x of scores) {
    a.count += 1;
    a.sum += x;
    a.sumsq += x * x;
    a.min = a.min === null ? x : Math.min(a.min, x);
    a.max = a.max === null ? x : Math.max(a.max, x);
  }
  return a;
}

function expectInterval(actual: [number, number] | null, center: number, half: number): void {
  expect(actual).not.toBeNull();
  const [lo, hi] = actual as [number, number];
  expect(lo).toBeCloseTo(center - half, 10);
  expect(hi).toBeCloseTo(center + half, 10);
}

describe('tQuantile', () => {
  it.each([
    [1, 12.7062047362],
    [2, 4.30265272975],
    [5, 2.57058183661],
    [10, 2.22813885196],
    [30, 2.0422724563],
    [100, 1.98397151852],
  ])('matches the published two-sided 95%% t value for df=%d', (df, expected) => {
    expect(Math.abs(tQuantile(0.95, df) - expected)).toBeLessThan(1e-6);
  });

  it('matches the published two-sided 99% t value for df=10', () => {
    expect(Math.abs(tQuantile(0.99, 10) - 3.16927267262)).toBeLessThan(1e-6);
  });

  it('approaches the normal quantile for a million degrees of freedom', () => {
    expect(Math.abs(tQuantile(0.95, 1e6) - 1.959963984540054)).toBeLessThan(1e-4);
  });

  it('stays above the normal quantile and decreases as df grows', () => {
    const dfs = [1, 2, 3, 7, 20, 60, 500, 5000, 1e5, 1e6];
    const values = dfs.map((df) => tQuantile(0.95, df));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]);
    expect(values[values.length - 1]).toBeGreaterThan(1.959963984540054);
  });

  it('handles the extremes of the supported level range', () => {
    expect(Math.abs(tQuantile(0.999, 1) - 636.619248768)).toBeLessThan(1e-6);
    expect(Math.abs(tQuantile(0.8, 1) - 3.07768353718)).toBeLessThan(1e-6);
  });

  it.each([
    [0, 5],
    [1, 5],
    [0.95, 0],
    [0.95, Number.NaN],
    [0.95, Number.POSITIVE_INFINITY],
  ])('rejects level=%p with df=%p as a RangeError', (level, df) => {
    expect(() => tQuantile(level, df)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('reports mean, sample std and a t-based 95% interval for the scores 1..5', () => {
    const summary = summarize(aggregate([1, 2, 3, 4, 5]));
    expect(summary.mean).toBe(3);
    expect(summary.std).toBeCloseTo(1.5811388300841898, 12);
    expect(summary.support).toBe(5);
    expect(summary.min).toBe(1);
    expect(summary.max).toBe(5);
    expectInterval(summary.ci95, 3, (2.7764451051977987 * 1.5811388300841898) / Math.sqrt(5));
  });

  it('returns nulls and zero support when there is no score', () => {
    expect(summarize({ count: 0, sum: 0, sumsq: 0, min: null, max: null })).toEqual({
      mean: null,
      std: null,
      support: 0,
      ci95: null,
      min: null,
      max: null,
    });
  });

  it('gives the value as mean but no std or interval for a single score', () => {
    expect(summarize(aggregate([0.7]))).toEqual({ mean: 0.7, std: null, support: 1, ci95: null, min: 0.7, max: 0.7 });
  });

  it('gives a std of exactly 0 for a million equal scores summed in a loop', () => {
    const aggregates = aggregate((function* () { for (let i = 0; i < 1e6; i++) yield 0.1; })());
    const summary = summarize(aggregates);
    expect(summary.std).toBe(0);
    expect(summary.support).toBe(1e6);
    expect(summary.mean).toBeCloseTo(0.1, 10);
    expect(summary.ci95).toEqual([summary.mean, summary.mean]);
    // Without min/max to show the scores are equal, the clamp alone still gives 0, never NaN.
    expect(summarize({ ...aggregates, min: null, max: null }).std).toBe(0);
  });

  it('clamps a variance made slightly negative by rounding to 0', () => {
    // sumsq a hair below sum²/n, as rounding in the SQL sums can produce; min < max so only the clamp applies.
    const sum = 0.3;
    const sumsq = (sum * sum) / 3 - 1e-15;
    expect(sumsq - (sum * sum) / 3).toBeLessThan(0);
    const summary = summarize({ count: 3, sum, sumsq, min: 0.1, max: 0.1000000001 });
    expect(summary.std).toBe(0);
  });

  it('rejects a negative or fractional count as a RangeError', () => {
    expect(() => summarize({ count: -1, sum: 0, sumsq: 0, min: null, max: null })).toThrow(RangeError);
    expect(() => summarize({ count: 1.5, sum: 0, sumsq: 0, min: null, max: null })).toThrow(RangeError);
  });
});

describe('pairedDifference', () => {
  it('reports the mean of b - a and its t-based 95% interval', () => {
    const result = pairedDifference([1, 2, 3, 4], [2, 2, 5, 5]);
    expect(result.n).toBe(4);
    expect(result.mean).toBe(1);
    expectInterval(result.ci95, 1, (3.18244630528371 * 0.816496580927726) / 2);
  });

  it('throws a RangeError when the runs have different numbers of rows', () => {
    expect(() => pairedDifference([1, 2, 3], [1, 2])).toThrow(RangeError);
  });

  it('returns a null mean and interval when no row was scored by both runs', () => {
    expect(pairedDifference([], [])).toEqual({ n: 0, mean: null, ci95: null });
  });

  it('keeps the interval within the differences a bounded metric can show', () => {
    // 0/1 scores: diffs 1, 1, 0; mean 2/3, sd sqrt(1/3), t(0.975, 2) = 4.302653, half = 4.302653 * sqrt(1/3) / sqrt(3) = 1.434218.
    // Unclipped [-0.767551, 2.100884]; a difference of 0/1 scores cannot pass 1.
    const { ci95 } = pairedDifference([0, 0, 0], [1, 1, 0], [0, 1]);
    expect(ci95![0]).toBeCloseTo(2 / 3 - 1.434218, 5);
    expect(ci95![1]).toBe(1);
    expect(pairedDifference([0, 0, 0], [1, 1, 0]).ci95![1]).toBeCloseTo(2 / 3 + 1.434218, 5);
  });

  it('gives the difference but no interval for a single shared row', () => {
    expect(pairedDifference([0.25], [0.75])).toEqual({ n: 1, mean: 0.5, ci95: null });
  });
});

describe('wilsonInterval', () => {
  // Worked example, 2 successes out of 8, z = 1.959964 (z² = 3.841459):
  //   p = 0.25, z²/n = 0.480182, denominator 1 + z²/n = 1.480182
  //   centre = (0.25 + 0.480182/2) / 1.480182 = 0.490091 / 1.480182 = 0.331102
  //   half   = 1.959964 / 1.480182 * sqrt(0.25*0.75/8 + 3.841459/(4*64))
  //          = 1.324138 * sqrt(0.0234375 + 0.0150057) = 1.324138 * 0.196069 = 0.259623
  //   → [0.071479, 0.590725]
  it('matches a worked example for 2 successes out of 8', () => {
    const [lo, hi] = wilsonInterval(2, 8);
    expect(lo).toBeCloseTo(0.071479, 5);
    expect(hi).toBeCloseTo(0.590725, 5);
  });

  // 0 out of n: p = 0, so centre = half = (z²/2n)/(1+z²/n) and the interval is [0, z²/(n+z²)];
  // for n = 10: 3.841459 / 13.841459 = 0.277533. n out of n mirrors it: [1 - 0.277533, 1].
  it('gives a non-empty interval touching 0 when nothing succeeded and touching 1 when everything did', () => {
    const [lo0, hi0] = wilsonInterval(0, 10);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(0.277533, 5);
    const [lo1, hi1] = wilsonInterval(10, 10);
    expect(lo1).toBeCloseTo(0.722467, 5);
    expect(hi1).toBe(1);
  });

  it('rejects a trial count below 1 or successes outside [0, n] as a RangeError', () => {
    expect(() => wilsonInterval(0, 0)).toThrow(RangeError);
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 2)).toThrow(RangeError);
  });
});

describe('summarize within a score range', () => {
  it('gives 0/1 scores the Wilson interval instead of a t interval that goes below 0', () => {
    const scores = [1, 0, 0, 1, 0, 0, 0, 0];
    // The t interval of these scores is about [-0.137, 0.637]: outside a 0..1 metric's range.
    expect(summarize(aggregate(scores)).ci95?.[0]).toBeLessThan(0);
    const summary = summarize(aggregate(scores), [0, 1]);
    expect(summary.mean).toBe(0.25);
    expect(summary.ci95?.[0]).toBeCloseTo(0.071479, 5);
    expect(summary.ci95?.[1]).toBeCloseTo(0.590725, 5);
  });

  it('gives a metric whose every score is its maximum an interval below that maximum, not a point', () => {
    const summary = summarize(aggregate(Array(10).fill(1)), [0, 1]);
    expect(summary.ci95?.[0]).toBeCloseTo(0.722467, 5);
    expect(summary.ci95?.[1]).toBe(1);
  });

  it('maps the Wilson interval onto a range other than 0..1 when scores only take its two ends', () => {
    // Scores 1 or 5 on a 1..5 scale: 2 fives out of 8 is the proportion 2/8 stretched onto [1, 5].
    const summary = summarize(aggregate([5, 1, 1, 5, 1, 1, 1, 1]), [1, 5]);
    expect(summary.ci95?.[0]).toBeCloseTo(1 + 4 * 0.071479, 4);
    expect(summary.ci95?.[1]).toBeCloseTo(1 + 4 * 0.590725, 4);
  });

  it('clips the t interval of scores inside a bounded range to that range', () => {
    const scores = [0.95, 1, 1, 0.2];
    const plain = summarize(aggregate(scores)).ci95 as [number, number];
    expect(plain[1]).toBeGreaterThan(1);
    const [lo, hi] = summarize(aggregate(scores), [0, 1]).ci95 as [number, number];
    expect(lo).toBeCloseTo(Math.max(0, plain[0]), 12);
    expect(hi).toBe(1);
  });

  it('clips only the finite bound of a half-bounded range', () => {
    const scores = [0, 0, 0, 12];
    const plain = summarize(aggregate(scores)).ci95 as [number, number];
    expect(plain[0]).toBeLessThan(0);
    expect(summarize(aggregate(scores), [0, Number.POSITIVE_INFINITY]).ci95).toEqual([0, plain[1]]);
  });

  it('keeps the t interval unchanged when it already lies inside the range', () => {
    const scores = [0.4, 0.5, 0.6, 0.5, 0.45];
    expect(summarize(aggregate(scores), [0, 1]).ci95).toEqual(summarize(aggregate(scores)).ci95);
  });
});
