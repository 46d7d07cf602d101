/**
 * The G-Eval paper's probability-weighted score (Liu et al. 2023, §2: the
 * expected score under the judge's own distribution over the score tokens),
 * computed as DeepEval's GEval computes it (deepeval/metrics/g_eval/utils.py,
 * `calculate_weighted_summed_score`, as of v4): the judge's score is located
 * as the last reply token that spells it exactly (the reason written before
 * it may contain the same number); among that token's top alternatives,
 * those below 1% probability and those that are not all digits are left
 * out; the probabilities of alternatives meaning the same integer ("7",
 * "07") are added; the score is the mean of those integers weighted by their
 * probabilities, renormalised to sum to 1.
 *
 * Where DeepEval falls back to the judge's own score, so does this, and says
 * why: no log-probabilities in the reply, no token spelling the score (a
 * fractional score, or a tokenizer that glues the space to the digit), or no
 * alternative left after the filters. One difference, so the score stays on
 * its scale: alternatives outside the scale (a "100" after a 10) are left out
 * too, as DeepEval would average them in.
 */
import type { TokenLogprob } from '../providers/openai.js';

/** Alternatives less likely than this are noise (DeepEval's cut: log(0.01)). */
const MIN_LOGPROB = Math.log(0.01);

/** Python's str.isdecimal() on the tokens that matter here: ASCII digits only (other scripts' digits are left out). */
const DIGITS = /^[0-9]+$/;

export type WeightedScore = { weighted: number } | { fallback: 'no logprobs' | 'score token not found' | 'no usable alternative' };

/** The probability-weighted score of `raw` on the scale [lo, hi], from the reply's tokens; see above. */
export function weightedScore(raw: number, logprobs: readonly TokenLogprob[] | null, [lo, hi]: readonly [number, number]): WeightedScore {
  if (!logprobs?.length) return { fallback: 'no logprobs' };
  const spelled = String(raw);
  const at = logprobs.findLastIndex((t) => t.token === spelled);
  if (at === -1) return { fallback: 'score token not found' };
  const byValue = new Map<number, number>();
  for (const alt of logprobs[at].top_logprobs) {
    if (alt.logprob < MIN_LOGPROB || !DIGITS.test(alt.token)) continue;
    const value = Number(alt.token);
    if (value < lo || value > hi) continue;
    byValue.set(value, (byValue.get(value) ?? 0) + Math.exp(alt.logprob));
  }
  let mass = 0;
  let sum = 0;
  for (const [value, p] of byValue) {
    mass += p;
    sum += value * p;
  }
  if (mass === 0) return { fallback: 'no usable alternative' };
  return { weighted: sum / mass };
}
