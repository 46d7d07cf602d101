/**
 * ROUGE as Google's `rouge-score` package computes it
 * (`rouge_scorer.RougeScorer([variant], use_stemmer).score(target, prediction)`
 * with its default tokenizer), so scores match the numbers people report from
 * that package — which itself reproduces ROUGE-1.5.5 (`-e data -n 2`, with
 * `-m` when stemming).
 *
 * Floating-point operations are done in the same order as rouge-score so the
 * results are bit-identical, not merely close.
 */
import { porterStem } from './porter.js';

export type RougeVariant = 'rouge1' | 'rouge2' | 'rougeL' | 'rougeLsum';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

const ZERO: Readonly<RougeScore> = Object.freeze({ precision: 0, recall: 0, fmeasure: 0 });

/**
 * rouge-score's default tokenizer: lowercase, every run of characters outside
 * [a-z0-9] becomes a separator (so accented letters and other scripts split
 * words and vanish), and with stemming only tokens longer than 3 characters
 * are stemmed — short words such as "was" stay whole although Porter would
 * cut them.
 */
export function tokenizeForRouge(text: string, useStemmer: boolean): string[] {
  const tokens: string[] = [];
  for (const raw of text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(' ')) {
    if (raw === '') continue;
    const token = useStemmer && raw.length > 3 ? porterStem(raw) : raw;
    // rouge-score re-checks tokens after stemming; kept so a stem can never smuggle in an empty token.
    if (/^[a-z0-9]+$/.test(token)) tokens.push(token);
  }
  return tokens;
}

/** rouge-score's F1, defined as 0 (not NaN) when precision and recall are both 0. */
function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function score(precision: number, recall: number): RougeScore {
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** N-gram counts keyed by the tokens joined with a space, which no token contains. */
function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function sumValues(counts: Map<string, number>): number {
  let total = 0;
  for (const c of counts.values()) total += c;
  return total;
}

/**
 * Clipped n-gram overlap: an n-gram counts as often as it occurs in both.
 * Denominators are floored at 1, so a side too short for any n-gram gives 0
 * rather than NaN.
 */
function scoreNgrams(target: readonly string[], prediction: readonly string[], n: number): RougeScore {
  const t = ngramCounts(target, n);
  const p = ngramCounts(prediction, n);
  let overlap = 0;
  for (const [gram, count] of t) overlap += Math.min(count, p.get(gram) ?? 0);
  return score(overlap / Math.max(sumValues(p), 1), overlap / Math.max(sumValues(t), 1));
}

/** LCS length in O(min) memory; rougeL never needs the alignment itself. */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

function scoreLcs(target: readonly string[], prediction: readonly string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { ...ZERO };
  const lcs = lcsLength(target, prediction);
  return score(lcs / prediction.length, lcs / target.length);
}

/**
 * Indices into `ref` of one longest common subsequence with `can`. Which LCS
 * is chosen changes rougeLsum's hits, so the walk breaks ties exactly as
 * rouge-score does: on a match go diagonal, otherwise step left only when
 * that cell is strictly greater than the one above.
 */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const cols = can.length + 1;
  const table = new Int32Array((ref.length + 1) * cols);
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      table[i * cols + j] =
        ref[i - 1] === can[j - 1] ? table[(i - 1) * cols + j - 1] + 1 : Math.max(table[(i - 1) * cols + j], table[i * cols + j - 1]);
    }
  }
  const picked: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      picked.push(i - 1);
      i--;
      j--;
    } else if (table[i * cols + j - 1] > table[(i - 1) * cols + j]) {
      j--;
    } else {
      i--;
    }
  }
  return picked.reverse();
}

function tokenCounts(sentences: readonly (readonly string[])[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const t of s) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/**
 * Summary-level LCS (Lin 2004, section 3.2): for each reference sentence, the
 * union of its LCS with every candidate sentence. As in ROUGE-1.5.5 (and
 * unlike the paper), a token is only counted as a hit while both summaries
 * still have an unused occurrence of it, so repeated words cannot inflate the
 * score past the token counts.
 */
function scoreSummaryLcs(refSents: readonly string[][], canSents: readonly string[][]): RougeScore {
  if (refSents.length === 0 || canSents.length === 0) return { ...ZERO };
  const m = refSents.reduce((acc, s) => acc + s.length, 0);
  const n = canSents.reduce((acc, s) => acc + s.length, 0);
  if (m === 0 || n === 0) return { ...ZERO };

  const refLeft = tokenCounts(refSents);
  const canLeft = tokenCounts(canSents);
  let hits = 0;
  for (const ref of refSents) {
    const union = new Set<number>();
    for (const can of canSents) for (const idx of lcsIndices(ref, can)) union.add(idx);
    for (const idx of [...union].sort((a, b) => a - b)) {
      const token = ref[idx];
      const r = refLeft.get(token) ?? 0;
      const c = canLeft.get(token) ?? 0;
      if (r > 0 && c > 0) {
        hits++;
        refLeft.set(token, r - 1);
        canLeft.set(token, c - 1);
      }
    }
  }
  return score(hits / n, hits / m);
}

/**
 * Sentences for rougeLsum are the summary's lines — rouge-score's default
 * (`split_summaries=False`) does no sentence splitting, so callers who want
 * summary-level LCS must put one sentence per line. Empty lines are dropped;
 * lines with no word characters stay as empty sentences (harmless).
 */
function sentences(text: string, useStemmer: boolean): string[][] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => tokenizeForRouge(line, useStemmer));
}

/** `rouge_scorer.RougeScorer([variant], use_stemmer).score(target, prediction)[variant]`. */
export function rouge(target: string, prediction: string, variant: RougeVariant = 'rougeL', useStemmer = false): RougeScore {
  switch (variant) {
    case 'rouge1':
    case 'rouge2':
      return scoreNgrams(tokenizeForRouge(target, useStemmer), tokenizeForRouge(prediction, useStemmer), variant === 'rouge1' ? 1 : 2);
    case 'rougeL':
      return scoreLcs(tokenizeForRouge(target, useStemmer), tokenizeForRouge(prediction, useStemmer));
    case 'rougeLsum':
      return scoreSummaryLcs(sentences(target, useStemmer), sentences(prediction, useStemmer));
    default:
      // Reachable from untyped callers (e.g. params from JSON); rouge-score raises too.
      throw new Error(`invalid ROUGE variant: ${String(variant)}`);
  }
}
