/**
 * Turns the running aggregates stored per metric result (count, sum, sum of
 * squares, min, max — updated incrementally in SQL) into the summary users
 * see: mean, sample standard deviation, support and a 95% confidence interval
 * of the mean that stays inside the metric's score range (Wilson for scores
 * that only take the two ends of the range, Student t clipped to the range
 * otherwise). Also the paired comparison of two runs. No library: the t
 * quantile inverts the regularized incomplete beta function.
 */

/** Running aggregates of one metric's scores, as stored. */
export interface Aggregates {
  count: number;
  sum: number;
  sumsq: number;
  min: number | null;
  max: number | null;
}

/** What users see for one metric; every field but `support` is null when there is no score. */
export interface Summary {
  mean: number | null;
  std: number | null;
  support: number;
  ci95: [number, number] | null;
  min: number | null;
  max: number | null;
}

/**
 * Mean, sample standard deviation (n-1), support (=count) and the 95% confidence interval of the mean.
 *
 * Given the metric's score `range` (bounds may be infinite), the interval
 * never leaves it: when every score sits at one end of a finite range (0/1
 * metrics such as exact_match) the scores are a proportion and get the Wilson
 * score interval, mapped back onto the range; otherwise the Student t interval
 * (n-1 degrees of freedom) is clipped to the finite bounds. Without a range,
 * the plain t interval.
 *
 * count 0 → everything null, support 0; count 1 → std and ci95 null.
 * The variance is (sumsq - sum²/n)/(n-1); rounding in the incremental sums can
 * make it slightly negative, which is clamped to 0, and when min equals max all
 * scores are equal so the variance is exactly 0 whatever the sums say.
 * @throws RangeError when count is negative or not an integer.
 */
export function summarize(a: Aggregates, range?: readonly [number, number]): Summary {
  const n = a.count;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`count must be a non-negative integer, got ${n}`);
  if (n === 0) return { mean: null, std: null, support: 0, ci95: null, min: null, max: null };
  const mean = a.sum / n;
  if (n === 1) return { mean, std: null, support: 1, ci95: null, min: a.min, max: a.max };
  let variance: number;
  if (a.min !== null && a.max !== null && a.min === a.max) {
    variance = 0;
  } else {
    variance = (a.sumsq - (a.sum * a.sum) / n) / (n - 1);
    if (variance < 0) variance = 0; // rounding in the sums, not a real negative variance
  }
  const std = Math.sqrt(variance);
  return { mean, std, support: n, ci95: boundedInterval(a, mean, std, range), min: a.min, max: a.max };
}

/**
 * Wilson score interval of a proportion at 95%: `successes` out of `n` trials.
 * Unlike the normal (Wald) interval it stays within [0, 1] and does not
 * collapse to a point when every trial succeeded or every one failed.
 * @throws RangeError when n is not a positive integer or successes is outside [0, n].
 */
export function wilsonInterval(successes: number, n: number): [number, number] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(successes >= 0 && successes <= n)) throw new RangeError(`successes must be in [0, ${n}], got ${successes}`);
  if (successes > n / 2) {
    // Computed from the failures' side so that n out of n ends exactly at 1, as 0 out of n starts exactly at 0.
    const [lo, hi] = wilsonInterval(n - successes, n);
    return [1 - hi, 1 - lo];
  }
  const z = Z95;
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (z2n / n) / 4);
  // The formula keeps both ends in [0, 1]; the clamp only absorbs rounding.
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Two-sided 95% quantile of the standard normal distribution. */
const Z95 = 1.959963984540054;

function boundedInterval(a: Aggregates, mean: number, std: number, range: readonly [number, number] | undefined): [number, number] {
  if (!range) return meanInterval(mean, std, a.count);
  const [lo, hi] = range;
  if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo && atEndsOnly(a, lo, hi)) {
    const [p0, p1] = wilsonInterval(Math.round((a.sum - a.count * lo) / (hi - lo)), a.count);
    return [lo + p0 * (hi - lo), lo + p1 * (hi - lo)];
  }
  const [l, h] = meanInterval(mean, std, a.count);
  return [Math.min(Math.max(l, lo), hi), Math.max(Math.min(h, hi), lo)];
}

/**
 * Whether every score is `lo` or `hi`, read from the aggregates alone:
 * (x-lo)(hi-x) is 0 at the ends and positive strictly inside, so its sum
 * (computed from count, sum and sumsq) is 0 exactly when no score lies inside.
 * The tolerance absorbs rounding in the sums: a score within about 1e-9 of
 * the range's width from an end counts as at that end.
 */
function atEndsOnly(a: Aggregates, lo: number, hi: number): boolean {
  if (a.min === null || a.max === null || (a.min !== lo && a.min !== hi) || (a.max !== lo && a.max !== hi)) return false;
  const inner = (lo + hi) * a.sum - a.sumsq - a.count * lo * hi;
  return Math.abs(inner) <= 1e-9 * a.count * (hi - lo) * (hi - lo);
}

/**
 * Two-sided Student t quantile: the value t such that P(|T| <= t) = level for T with df degrees of freedom.
 *
 * Solves 1 - I_{df/(df+t²)}(df/2, 1/2) = level for t by bisection; accurate to
 * well below 1e-6 for df in [1, 1e6] and level in [0.8, 0.999]. df may be
 * fractional.
 * @throws RangeError when level is not in (0, 1) or df is not a finite positive number.
 */
export function tQuantile(level: number, df: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  if (!(df > 0 && Number.isFinite(df))) throw new RangeError(`df must be a finite positive number, got ${df}`);
  const tail = 1 - level; // target P(|T| > t), decreasing in t
  const twoSidedTail = (t: number): number => {
    const t2 = t * t;
    // x = df/(df+t²) and 1-x = t²/(df+t²), both computed directly for precision.
    return regularizedBeta(df / (df + t2), t2 / (df + t2), df / 2, 0.5);
  };
  let lo = 0;
  let hi = 1;
  while (twoSidedTail(hi) > tail) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) throw new RangeError(`t quantile overflows for level ${level}, df ${df}`);
  }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (twoSidedTail(mid) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Paired comparison of two runs on the rows both scored: mean difference (b - a), its 95% CI (t with n-1 df), n.
 *
 * `a[i]` and `b[i]` must be the scores of the same row; callers drop rows that
 * only one run scored. n 0 → mean and ci95 null; n 1 → ci95 null. Given the
 * metric's score `range`, a difference can only lie within ±(its width), so
 * the interval is clipped to that: a 0/1 metric never shows a difference past 1.
 * @throws RangeError when the arrays differ in length.
 */
export function pairedDifference(a: number[], b: number[], range?: readonly [number, number]): { n: number; mean: number | null; ci95: [number, number] | null } {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  const n = a.length;
  if (n === 0) return { n: 0, mean: null, ci95: null };
  const diffs = a.map((x, i) => b[i] - x);
  const mean = diffs.reduce((s, d) => s + d, 0) / n;
  if (n === 1) return { n, mean, ci95: null };
  // Two passes over the data: no cancellation problem here.
  const variance = diffs.reduce((s, d) => s + (d - mean) * (d - mean), 0) / (n - 1);
  const [l, h] = meanInterval(mean, Math.sqrt(variance), n);
  const width = range ? range[1] - range[0] : Infinity;
  return { n, mean, ci95: Number.isFinite(width) ? [Math.max(l, -width), Math.min(h, width)] : [l, h] };
}

function meanInterval(mean: number, std: number, n: number): [number, number] {
  const half = (tQuantile(0.95, n - 1) * std) / Math.sqrt(n);
  return [mean - half, mean + half];
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/**
 * Regularized incomplete beta I_x(a, b), given x and y = 1 - x separately so
 * that x close to 1 keeps its precision. Continued fraction (modified Lentz),
 * using the symmetry I_x(a,b) = 1 - I_y(b,a) where it converges faster.
 */
function regularizedBeta(x: number, y: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const logX = x > 0.5 ? Math.log1p(-y) : Math.log(x);
  const logY = y > 0.5 ? Math.log1p(-x) : Math.log(y);
  const front = Math.exp(a * logX + b * logY - (logGamma(a) + logGamma(b) - logGamma(a + b)));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(y, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const eps = 3e-16;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < eps) return h;
  }
  throw new RangeError(`incomplete beta continued fraction did not converge (x=${x}, a=${a}, b=${b})`);
}
