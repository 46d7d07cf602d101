/**
 * levenshtein_ratio, python-Levenshtein's ratio, and the Indel distance it
 * and rapidfuzz's fuzz.ratio (ocr_v1) are computed from. Strings are
 * compared by Unicode code point, as Python compares `str` characters.
 */
import { noParams } from '../params.js';
import { text } from '../row-text.js';
import type { InlineMetric } from '../types.js';

/** Code points of a string (what Python indexes in a `str`). */
const codePoints = (s: string): number[] => {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) as number);
  return out;
};

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Length of the longest common subsequence, by the bit-vector recurrence of
 * Allison–Dix / Hyyrö (V' = (V + (V & M)) | (V & ~M), LCS = zero bits of V),
 * carried over as many 32-bit words as the shorter sequence needs.
 */
function lcsLength(a: readonly number[], b: readonly number[]): number {
  const [p, t] = a.length <= b.length ? [a, b] : [b, a];
  const m = p.length;
  if (m === 0) return 0;
  const words = (m + 31) >>> 5;
  const masks = new Map<number, Uint32Array>();
  for (let i = 0; i < m; i++) {
    let mask = masks.get(p[i]);
    if (!mask) masks.set(p[i], (mask = new Uint32Array(words)));
    mask[i >>> 5] |= 1 << (i & 31);
  }
  const v = new Uint32Array(words).fill(0xffffffff);
  for (const c of t) {
    const mask = masks.get(c);
    if (!mask) continue; // V & M = 0 leaves V unchanged
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const vw = v[w];
      const mw = mask[w];
      const sum = vw + ((vw & mw) >>> 0) + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      v[w] = (sum >>> 0) | (vw & ~mw);
    }
  }
  let ones = 0;
  for (let w = 0; w < words; w++) {
    const bits = w === words - 1 && m % 32 !== 0 ? v[w] & ((1 << (m % 32)) - 1) : v[w];
    ones += popcount32(bits >>> 0);
  }
  return m - ones;
}

/**
 * Indel distance: the fewest insertions and deletions (no substitutions) that
 * turn one sequence into the other, i.e. len(a) + len(b) - 2·LCS(a, b).
 */
export function indelDistance(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  const xs = x.slice(start, endX);
  const ys = y.slice(start, endY);
  return xs.length + ys.length - 2 * lcsLength(xs, ys);
}

/** Normalized Indel similarity in [0, 1]: 1 - indel / (len(a) + len(b)); 1 for two empty strings. */
function indelNormalizedSimilarity(a: string, b: string): number {
  const lensum = codePoints(a).length + codePoints(b).length;
  if (lensum === 0) return 1;
  return 1 - indelDistance(a, b) / lensum;
}

/**
 * rapidfuzz `fuzz.ratio` (and fuzzywuzzy's, which rapidfuzz reproduces): the
 * normalized Indel similarity × 100, a float in [0, 100], not rounded, no
 * preprocessing (case and whitespace count). Two empty strings score 100.
 * Computed in the same order as rapidfuzz (`(1 - dist / lensum) * 100`) so the
 * floats agree to the last bit, e.g. ratio("this is a test", "this is a test!")
 * = 96.55172413793103.
 */
export function fuzzyRatio(a: string, b: string): number {
  return indelNormalizedSimilarity(a, b) * 100;
}

/**
 * python-Levenshtein `Levenshtein.ratio`: (lensum - d) / lensum where d is the
 * edit distance with substitutions weighing 2, which is the Indel distance; so
 * 1 - indel / (len(a) + len(b)). Not 1 - levenshtein / max(len). Two empty
 * strings give 1. ratio('Hello world!', 'Holly grail!') = 14 / 24.
 */
export function levenshteinRatio(a: string, b: string): number {
  return indelNormalizedSimilarity(a, b);
}

export const levenshtein: InlineMetric = {
  name: 'levenshtein_ratio',
  description: 'Normalized Levenshtein similarity between output and expected output.',
  type: 'deterministic',
  require: ['output', 'output_true'],
  params: noParams,
  range: [0, 1],
  higherIsBetter: true,
  score: (i) => ({ score: levenshteinRatio(i.output, text(i.output_true)), observation: null }),
};
