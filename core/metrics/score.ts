/**
 * Scoring of the metrics that need no model call, computed in the task that
 * produced (or read) the answer. A metric never throws: bad input is a
 * recorded error on its observation.
 */
import { bleuStats, corpusBleu, sentenceBleu, type BleuStats } from './bleu.js';
import { chrfFromStats, chrfOptions, chrfStats } from './chrf.js';
import { getMetric } from './registry.js';
import { rouge, type RougeVariant } from './rouge.js';
import { qcmExactnessEvalap } from './qcm-evalap.js';
import { jsonSchemaScore, levenshteinRatio, ocrV1, qcmExactness } from './text-metrics.js';
import { ANSWER_FIELDS } from './types.js';
import { ecoScore } from '../eco/emission.js';

/** What a metric sees of one row: the answer and the dataset fields (after columns_map). */
export interface ScoreInput {
  output: string;
  output_true?: unknown;
  query?: unknown;
  context?: unknown;
  retrieval_context?: unknown;
  think?: string | null;
  execution_time?: number | null;
  nb_tokens_prompt?: number | null;
  nb_tokens_completion?: number | null;
  nb_tool_calls?: number | null;
  [column: string]: unknown;
}

export type ScoreOutcome = { score: number | null; observation: unknown } | { error: string };

type Scorer = (input: ScoreInput, params: Record<string, any>) => ScoreOutcome;

const text = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function normalize(s: string, p: { ignore_case?: boolean; ignore_whitespace?: boolean; ignore_punctuation?: boolean }): string {
  let out = s.trim();
  if (p.ignore_case) out = out.toLowerCase();
  if (p.ignore_punctuation) out = out.replace(/[\p{P}\p{S}]/gu, '');
  if (p.ignore_whitespace) out = out.replace(/\s+/g, ' ').trim();
  return out;
}

/** Expected outputs as a list of references: a list stays one, anything else is one reference. */
const references = (v: unknown): string[] => (Array.isArray(v) ? v.map(text) : [text(v)]);

const firstNumber = (s: string): number | null => {
  const m = /-?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?/i.exec(s.replace(/(\d)[\s\u00a0](?=\d{3}\b)/g, '$1'));
  return m ? Number(m[0].replace(',', '.')) : null;
};

const opsField = (field: 'execution_time' | 'nb_tokens_prompt' | 'nb_tokens_completion' | 'nb_tool_calls', scale = 1): Scorer => (input) => {
  const v = input[field];
  return typeof v === 'number' ? { score: v * scale, observation: null } : { error: `the answer has no ${field}` };
};

/** Evalap's energy_consumption / gwp_consumption: an answer without an estimate (its own outputs) has no score, and says why. */
const ecoField = (key: 'energy' | 'gwp'): Scorer => (input) => {
  const score = ecoScore(input.emission_carbon, key);
  if (score !== null) return { score, observation: null };
  return { score: null, observation: 'no energy or carbon estimate for this answer: it was not generated here (outputs brought with the experiment), or its provider reported no token count' };
};

const SCORERS: Record<string, Scorer> = {
  exact_match: (i, p) => {
    const match = normalize(i.output, p) === normalize(text(i.output_true), p);
    return { score: match ? 1 : 0, observation: null };
  },
  contains: (i, p) => ({ score: normalize(i.output, p).includes(normalize(text(i.output_true), p)) ? 1 : 0, observation: null }),
  starts_with: (i, p) => ({ score: normalize(i.output, p).startsWith(normalize(text(i.output_true), p)) ? 1 : 0, observation: null }),
  regex: (i, p) => ({ score: new RegExp(p.pattern, p.flags ?? '').test(i.output) ? 1 : 0, observation: null }),
  json_valid: (i) => {
    try {
      JSON.parse(i.output);
      return { score: 1, observation: null };
    } catch (err) {
      return { score: 0, observation: (err as Error).message };
    }
  },
  levenshtein_ratio: (i) => ({ score: levenshteinRatio(i.output, text(i.output_true)), observation: null }),
  json_schema: (i, p) => jsonSchemaScore(i.output, p.schema),
  qcm_exactness: (i, p) => (p.variant === 'extract' ? qcmExactness(i.output, text(i.output_true)) : qcmExactnessEvalap(i.output, i.output_true)),
  ocr_v1: (i, p) => ocrV1(i.output, text(i.output_true), p.variant !== 'unit'),
  bleu: (i) => {
    const refs = references(i.output_true);
    const out = sentenceBleu(i.output, refs);
    const st = bleuStats(i.output, refs);
    return { score: out.score, observation: { precisions: out.precisions, bp: out.bp, sys_len: out.sysLen, ref_len: out.refLen, corpus_stats: [...st.correct, ...st.total, st.sysLen, st.refLen] } };
  },
  chrf: (i, p) => {
    const o = chrfOptions(p.word_order ?? 0);
    const stats = chrfStats(i.output, references(i.output_true), o);
    return { score: chrfFromStats(stats, o), observation: { corpus_stats: stats } };
  },
  rouge: (i, p) => {
    const r = rouge(text(i.output_true), i.output, (p.variant ?? 'rougeL') as RougeVariant, Boolean(p.stemming));
    return { score: r.fmeasure, observation: { precision: r.precision, recall: r.recall } };
  },
  numeric_diff: (i, p) => {
    const got = firstNumber(i.output);
    const want = typeof i.output_true === 'number' ? i.output_true : firstNumber(text(i.output_true));
    if (want === null) return { error: 'output_true holds no number' };
    if (got === null) return { score: null, observation: 'the output holds no number' };
    const diff = Math.abs(got - want);
    return { score: p.relative ? (want === 0 ? diff : diff / Math.abs(want)) : diff, observation: { output: got, output_true: want } };
  },
  output_length: (i) => ({ score: i.output.split(/\s+/).filter(Boolean).length, observation: null }),
  generation_time: opsField('execution_time', 1 / 1000),
  nb_tokens_prompt: opsField('nb_tokens_prompt'),
  nb_tokens_completion: opsField('nb_tokens_completion'),
  nb_tool_calls: opsField('nb_tool_calls'),
  energy_consumption: ecoField('energy'),
  gwp_consumption: ecoField('gwp'),
};

/** Whether a metric is scored inline (no model call) rather than by an observation task. */
export function isInline(name: string): boolean {
  const def = getMetric(name);
  return def !== undefined && (def.type === 'deterministic' || def.type === 'ops');
}

const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);

/**
 * The error for a row that lacks a field the metric reads from the answer
 * (`output`, `context`, `retrieval_context`, `think`), or null. Launches
 * accept those fields unseen, as Evalap does, since only the answer brings
 * them; so each row is checked here, before any judge call, and one that
 * lacks them fails its own observation instead of being scored on nothing.
 * A field counts as present in the answer or, failing that, in the dataset
 * row (the answer's value wins when both have one).
 */
export function missingAnswerInput(
  name: string,
  params: Record<string, unknown> | null,
  row: Record<string, unknown>,
  answer: { answer: string; context?: unknown; retrieval_context?: unknown; think?: unknown } | undefined,
): string | null {
  const def = getMetric(name);
  if (!def) return null;
  const required = [...def.require, ...(def.requireFromParams?.(params ?? {}) ?? [])];
  const missing = required.filter((field) => {
    if (!(ANSWER_FIELDS as readonly string[]).includes(field)) return false;
    // An empty output is still an answer, to be judged as such.
    if (field === 'output') return answer === undefined && isEmpty(row.output);
    return isEmpty(answer?.[field as 'context' | 'retrieval_context' | 'think']) && isEmpty(row[field]);
  });
  if (!missing.length) return null;
  const names = missing.map((f) => JSON.stringify(f)).join(' and ');
  return `metric ${name} needs ${names}, which neither this row's answer nor its dataset row provides (bring it with the outputs, or add the column to the dataset)`;
}

/** Scores one inline metric on one row; never throws. */
export function scoreInline(name: string, params: Record<string, unknown> | null, input: ScoreInput): ScoreOutcome {
  const scorer = SCORERS[name];
  if (!scorer) return { error: `metric ${name} cannot be computed by this version yet` };
  try {
    return scorer(input, params ?? {});
  } catch (err) {
    return { error: `metric ${name} failed: ${(err as Error).message}` };
  }
}

/**
 * Corpus-level scores of the metrics that have one, from the element-wise sum
 * of their rows' `corpus_stats` (kept on the result): SacreBLEU's corpus BLEU
 * and corpus chrF, which are not means of the sentence scores.
 */
export function corpusScore(name: string, params: Record<string, unknown> | null, stats: number[] | null): number | null {
  if (!stats) return null;
  if (name === 'bleu') {
    const n = stats.length / 2 - 1;
    const summed: BleuStats = { correct: stats.slice(0, n), total: stats.slice(n, 2 * n), sysLen: stats[2 * n], refLen: stats[2 * n + 1] };
    return corpusBleu([summed]).score;
  }
  if (name === 'chrf') return chrfFromStats(stats, chrfOptions(Number(params?.word_order ?? 0)));
  return null;
}
