/**
 * chrF (Popović 2015) and chrF++ (Popović 2017) as SacreBLEU 2.x computes
 * them with its defaults (`chrF2|nc:6|nw:0|space:no|eff:yes`, and `nw:2` for
 * chrF++), so scores compare with published ones.
 *
 * Characters are code points, as in Python: a JS string index would cut an
 * astral character (emoji, many CJK extension characters) into two
 * surrogates and produce n-grams SacreBLEU never sees.
 */
import { pySplit } from './bleu.js';

export interface ChrfOptions {
  charOrder: number;
  wordOrder: number;
  beta: number;
  /** Keep whitespace inside character n-grams (SacreBLEU's `whitespace=True`). */
  whitespace: boolean;
  /** chrF++.py/NLTK-style epsilon smoothing instead of effective order. */
  epsSmoothing: boolean;
}

const DEFAULTS: ChrfOptions = { charOrder: 6, wordOrder: 0, beta: 2, whitespace: false, epsSmoothing: false };

// Only ASCII punctuation (Python's string.punctuation) is split off for word
// n-grams; SacreBLEU does not treat unicode punctuation specially here.
const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

type Counts = Map<string, number>;

function countOf(items: string[]): Counts {
  const m: Counts = new Map();
  for (const it of items) m.set(it, (m.get(it) ?? 0) + 1);
  return m;
}

function charNgrams(line: string, maxOrder: number, whitespace: boolean): Counts[] {
  const chars = Array.from(whitespace ? line : pySplit(line).join(''));
  const out: Counts[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= chars.length; i++) grams.push(chars.slice(i, i + n).join(''));
    out.push(countOf(grams));
  }
  return out;
}

/**
 * SacreBLEU's (and chrF++.py's) crude word split: one punctuation mark is
 * peeled off the end, or else off the start, of each multi-character word.
 * "(hi)" thus gives "(hi" and ")" (sacrebleu #124); kept for compatibility.
 */
function splitPunctuation(sent: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sent)) {
    const cps = Array.from(w);
    if (cps.length === 1) {
      out.push(w);
    } else if (PUNCTS.has(cps[cps.length - 1])) {
      out.push(cps.slice(0, -1).join(''), cps[cps.length - 1]);
    } else if (PUNCTS.has(cps[0])) {
      out.push(cps[0], cps.slice(1).join(''));
    } else {
      out.push(w);
    }
  }
  return out;
}

function wordNgrams(words: string[], n: number): Counts {
  const grams: string[] = [];
  for (let i = 0; i + n <= words.length; i++) grams.push(words.slice(i, i + n).join(' '));
  return countOf(grams);
}

function allNgrams(sent: string, o: ChrfOptions): Counts[] {
  const grams = charNgrams(sent, o.charOrder, o.whitespace);
  if (o.wordOrder > 0) {
    const words = splitPunctuation(sent);
    for (let n = 1; n <= o.wordOrder; n++) grams.push(wordNgrams(words, n));
  }
  return grams;
}

/** [hyp, ref, match] for one order. */
function matchStats(hyp: Counts, ref: Counts): [number, number, number] {
  let match = 0;
  let hypCount = 0;
  for (const [g, c] of hyp) {
    hypCount += c;
    const r = ref.get(g);
    if (r !== undefined) match += Math.min(c, r);
  }
  let refCount = 0;
  for (const c of ref.values()) refCount += c;
  // An order the reference cannot fill (too short) must not count as a
  // precision failure of the hypothesis, hence hyp=0 there.
  return [ref.size > 0 ? hypCount : 0, refCount, match];
}

/**
 * F-beta over flattened [hyp, ref, match] triples, as SacreBLEU's
 * `_compute_f_score`; operation order kept for bit-level agreement.
 */
export function chrfFromStats(stats: number[], o: ChrfOptions): number {
  const eps = 1e-16;
  const order = o.charOrder + o.wordOrder;
  const factor = o.beta ** 2;
  let score = 0.0;
  let effOrder = 0;
  let avgPrec = 0.0;
  let avgRec = 0.0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i];
    const nRef = stats[3 * i + 1];
    const nMatch = stats[3 * i + 2];
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effOrder += 1;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effOrder === 0) {
    avgPrec = 0.0;
    avgRec = 0.0;
  } else {
    avgPrec /= effOrder;
    avgRec /= effOrder;
  }
  if (avgPrec + avgRec) {
    let f = (1 + factor) * avgPrec * avgRec;
    f /= factor * avgPrec + avgRec;
    return 100 * f;
  }
  return 0.0;
}

/**
 * Statistics of one segment: those of the reference that gives the best
 * sentence-level F (the first one on ties), not a merge of references.
 */
export function chrfStats(hypothesis: string, references: string[], o: ChrfOptions): number[] {
  // SacreBLEU has no defined result for zero references (it fails); say so.
  if (references.length === 0) throw new Error('chrF needs at least one reference');
  const hyp = allNgrams(hypothesis, o);
  let best: number[] = [];
  let bestF = -1.0;
  for (const ref of references) {
    const refGrams = allNgrams(ref, o);
    const stats: number[] = [];
    for (let i = 0; i < hyp.length; i++) stats.push(...matchStats(hyp[i], refGrams[i]));
    const f = chrfFromStats(stats, o);
    if (f > bestF) {
      bestF = f;
      best = stats;
    }
  }
  return best;
}

/** SacreBLEU's defaults with the given word order and overrides. */
export function chrfOptions(wordOrder: number | undefined, options?: Partial<ChrfOptions>): ChrfOptions {
  return { ...DEFAULTS, ...options, ...(wordOrder === undefined ? {} : { wordOrder }) };
}

/**
 * SacreBLEU CHRF: char order 6, word order 0 (chrF) or 2 (chrF++), beta 2,
 * whitespace removed, effective-order smoothing (eps_smoothing false), as
 * sacrebleu's sentence_chrf. Score 0–100. `options` exposes SacreBLEU's other
 * knobs (beta, eps smoothing, whitespace) for comparison with its tests.
 */
export function sentenceChrf(hypothesis: string, references: string[], wordOrder?: 0 | 2, options?: Partial<ChrfOptions>): { score: number } {
  const o = chrfOptions(wordOrder, options);
  return { score: chrfFromStats(chrfStats(hypothesis, references, o), o) };
}

/** Corpus chrF: per-segment best-reference statistics summed, then one F. */
export function corpusChrf(
  pairs: { hypothesis: string; references: string[] }[],
  wordOrder?: 0 | 2,
  options?: Partial<ChrfOptions>,
): { score: number } {
  const o = chrfOptions(wordOrder, options);
  const total = new Array<number>(3 * (o.charOrder + o.wordOrder)).fill(0);
  for (const p of pairs) {
    const s = chrfStats(p.hypothesis, p.references, o);
    for (let i = 0; i < total.length; i++) total[i] += s[i];
  }
  return { score: chrfFromStats(total, o) };
}
