/**
 * BLEU as SacreBLEU 2.x computes it (Papineni et al. 2002; the 13a tokenizer
 * of mteval-v13a.pl), so that scores reported here can be compared with
 * numbers published with a `BLEU|...|tok:13a|smooth:exp` signature.
 *
 * Everything below reproduces Python semantics on purpose: strings are
 * walked by code point, "whitespace" is Python's `str.isspace()` set, and the
 * floating-point operations keep SacreBLEU's order so that results agree to
 * the last few bits, not just to display precision.
 */

/**
 * Python's `str.split()` / `str.strip()` whitespace. It differs from JS `\s`:
 * Python counts U+001C–U+001F and U+0085 as whitespace, JS counts U+FEFF.
 * A token boundary in the wrong place changes n-gram counts, hence the
 * explicit set.
 */
const PY_WS = '\\t\\n\\v\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS}]+`, 'u');
const PY_WS_TRAILING = new RegExp(`[${PY_WS}]+$`, 'u');

/** Python's `s.split()` with no argument: no empty tokens, ever. */
export function pySplit(s: string): string[] {
  return s.split(PY_WS_RUN).filter((t) => t.length > 0);
}

/** Python's `s.rstrip()` with no argument. */
export function pyRstrip(s: string): string {
  return s.replace(PY_WS_TRAILING, '');
}

// The 13a rules only know ASCII: unicode punctuation (e.g. « » “ ” —) stays
// glued to words, exactly as in mteval-v13a.pl ('intl' is the tokenizer that
// splits it, and it is deliberately not the default).
// Rule 1 isolates every ASCII symbol except the apostrophe, comma, hyphen and
// period, which need context (rules 2–4) so that "1,000.5" and "3-4" survive.
const RE_SYMBOL = /([\u007b-\u007e\u005b-\u0060\u0020-\u0026\u0028-\u002b\u003a-\u0040\u002f])/gu;
const RE_PERIOD_COMMA_AFTER_NON_DIGIT = /([^0-9])([.,])/gu;
const RE_PERIOD_COMMA_BEFORE_NON_DIGIT = /([.,])([^0-9])/gu;
const RE_DASH_AFTER_DIGIT = /([0-9])(-)/gu;

/** SacreBLEU's 13a tokenizer (the default, as mteval-v13a). */
export function tokenize13a(line: string): string {
  let s = line.split('<skipped>').join('');
  s = s.split('-\n').join('');
  s = s.split('\n').join(' ');
  // The order matters: "&amp;quot;" must become "&quot;", not '"'.
  s = s.split('&quot;').join('"');
  s = s.split('&amp;').join('&');
  s = s.split('&lt;').join('<');
  s = s.split('&gt;').join('>');
  // The padding lets the context rules see a non-digit at both ends, so a
  // leading or trailing period/comma is split off too.
  s = ` ${s} `;
  s = s.replace(RE_SYMBOL, ' $1 ');
  s = s.replace(RE_PERIOD_COMMA_AFTER_NON_DIGIT, '$1 $2 ');
  s = s.replace(RE_PERIOD_COMMA_BEFORE_NON_DIGIT, ' $1 $2');
  s = s.replace(RE_DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(s).join(' ');
}

export const MAX_NGRAM_ORDER = 4;

export interface BleuStats { correct: number[]; total: number[]; sysLen: number; refLen: number }

export type BleuTokenizer = '13a' | 'none';

export type SmoothMethod = 'none' | 'floor' | 'add-k' | 'exp';

export interface BleuOptions {
  smoothMethod: SmoothMethod;
  /** For 'floor' (default 0.1) and 'add-k' (default 1); ignored otherwise. */
  smoothValue?: number;
  effectiveOrder: boolean;
}

export interface BleuResult { score: number; precisions: number[]; bp: number }

const SMOOTH_DEFAULTS: Record<SmoothMethod, number | undefined> = { none: undefined, floor: 0.1, 'add-k': 1, exp: undefined };

function preprocess(sent: string, tokenizer: BleuTokenizer): string {
  // SacreBLEU strips trailing whitespace before tokenizing, which also
  // keeps a final "-\n" from being read as a hyphenated line break.
  const s = pyRstrip(sent);
  return tokenizer === '13a' ? tokenize13a(s) : s;
}

/** Tokens never contain whitespace, so a space-joined key is unambiguous. */
function wordNgrams(tokens: string[], maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** The reference length closest to the hypothesis; on a tie, the shorter. */
function closestRefLen(hypLen: number, refLens: number[]): number {
  let bestDiff = -1;
  let bestLen = -1;
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    if (bestDiff === -1 || diff < bestDiff) {
      bestDiff = diff;
      bestLen = len;
    } else if (diff === bestDiff && len < bestLen) {
      bestLen = len;
    }
  }
  return bestLen;
}

/**
 * Sufficient statistics of one segment: clipped n-gram matches against the
 * per-n-gram maximum count over all references, and the closest reference
 * length. `tokenizer: 'none'` is SacreBLEU's `tokenize='none'` (whitespace
 * split only), as used by `raw_corpus_bleu`.
 */
export function bleuStats(hypothesis: string, references: string[], tokenizer: BleuTokenizer = '13a'): BleuStats {
  // SacreBLEU indexes refs[0] and fails on an empty list; an error is
  // clearer than a silent score against nothing.
  if (references.length === 0) throw new Error('BLEU needs at least one reference');
  const refMax = new Map<string, number>();
  const refLens: number[] = [];
  for (const ref of references) {
    const tokens = pySplit(preprocess(ref, tokenizer));
    refLens.push(tokens.length);
    for (const [key, count] of wordNgrams(tokens, MAX_NGRAM_ORDER)) {
      if (count > (refMax.get(key) ?? 0)) refMax.set(key, count);
    }
  }
  const hypTokens = pySplit(preprocess(hypothesis, tokenizer));
  const correct = new Array<number>(MAX_NGRAM_ORDER).fill(0);
  const total = new Array<number>(MAX_NGRAM_ORDER).fill(0);
  for (const [key, count] of wordNgrams(hypTokens, MAX_NGRAM_ORDER)) {
    const n = key.split(' ').length - 1;
    total[n] += count;
    const ref = refMax.get(key);
    if (ref !== undefined) correct[n] += Math.min(count, ref);
  }
  return { correct, total, sysLen: hypTokens.length, refLen: closestRefLen(hypTokens.length, refLens) };
}

/** SacreBLEU floors log(0) to this instead of -Infinity (utils.my_log). */
const LOG_ZERO = -9999999999;
const myLog = (x: number): number => (x === 0 ? LOG_ZERO : Math.log(x));

/**
 * SacreBLEU's `BLEU.compute_bleu`: brevity penalty, smoothed precisions in
 * percent, geometric mean over the (effective) order. Inputs are not mutated
 * (SacreBLEU's add-k mutates its lists; the result is the same).
 */
export function computeBleu(correctIn: number[], totalIn: number[], sysLen: number, refLen: number, opts: BleuOptions): BleuResult {
  const correct = [...correctIn];
  const total = [...totalIn];
  const maxOrder = correct.length;
  const smoothValue = opts.smoothValue ?? SMOOTH_DEFAULTS[opts.smoothMethod] ?? 0;

  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;

  const precisions = new Array<number>(maxOrder).fill(0.0);
  // No match at any order is a score of 0 whatever the smoothing
  // (sacrebleu #141); otherwise 'exp' would reward pure misses.
  if (!correct.some((c) => c !== 0)) return { score: 0.0, precisions, bp };

  let smoothMteval = 1.0;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (opts.smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (opts.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (opts.smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100.0 / (smoothMteval * total[n - 1]);
      } else if (opts.smoothMethod === 'floor') {
        precisions[n - 1] = (100.0 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100.0 * correct[n - 1]) / total[n - 1];
    }
  }

  // Left-to-right sum from 0, as Python's sum() over a list.
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]);
  const score = bp * Math.exp(logSum / effOrder);
  return { score, precisions, bp };
}

/** sentence_bleu: exponential smoothing ('exp'), effective order true, as sacrebleu.sentence_bleu does by default. Score 0–100. */
export function sentenceBleu(hypothesis: string, references: string[]): { score: number; precisions: number[]; bp: number; sysLen: number; refLen: number } {
  const st = bleuStats(hypothesis, references);
  const r = computeBleu(st.correct, st.total, st.sysLen, st.refLen, { smoothMethod: 'exp', effectiveOrder: true });
  return { ...r, sysLen: st.sysLen, refLen: st.refLen };
}

/** Element-wise sum of segment statistics, the corpus-level sufficient statistics. */
export function sumBleuStats(stats: BleuStats[]): BleuStats {
  const correct = new Array<number>(MAX_NGRAM_ORDER).fill(0);
  const total = new Array<number>(MAX_NGRAM_ORDER).fill(0);
  let sysLen = 0;
  let refLen = 0;
  for (const s of stats) {
    for (let i = 0; i < MAX_NGRAM_ORDER; i++) {
      correct[i] += s.correct[i];
      total[i] += s.total[i];
    }
    sysLen += s.sysLen;
    refLen += s.refLen;
  }
  return { correct, total, sysLen, refLen };
}

/**
 * corpus_bleu from summed stats with SacreBLEU's corpus defaults: 'exp'
 * smoothing and no effective order (both `BLEU()` and `corpus_bleu()` default
 * to `effective_order=False`; only `sentence_bleu()` turns it on).
 */
export function corpusBleu(stats: BleuStats[], opts: BleuOptions = { smoothMethod: 'exp', effectiveOrder: false }): BleuResult {
  const s = sumBleuStats(stats);
  return computeBleu(s.correct, s.total, s.sysLen, s.refLen, opts);
}
