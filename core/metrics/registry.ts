/**
 * The one registry of metrics: API validation, `GET /v1/metrics`, the
 * runner's scoring and judging, and the README's metrics table all read it.
 * A metric is a plug-in in one file under builtin/ (one file per metric, or
 * per family of alike metrics) holding its definition — name, type,
 * description, required fields, params schema, range, direction — and its
 * scorer (an inline `score`, or a `judge` prompt and reply reader).
 * Adding a metric touches that one file plus its test; a new family file is
 * also listed once in FAMILIES below, whose order is the order
 * `GET /v1/metrics` lists.
 */
import { z } from 'zod';
import { bleu } from './builtin/bleu.js';
import { chrf } from './builtin/chrf.js';
import { evalapJudges } from './builtin/evalap-judges.js';
import { gEval } from './builtin/g-eval.js';
import { judgeAdhoc } from './builtin/judge-adhoc.js';
import { jsonMetrics } from './builtin/json.js';
import { levenshtein } from './builtin/levenshtein.js';
import { numericDiff } from './builtin/numeric-diff.js';
import { ocr } from './builtin/ocr.js';
import { opsMetrics } from './builtin/ops.js';
import { outputLength } from './builtin/output-length.js';
import { piiLeakage } from './builtin/pii-leakage.js';
import { promptAlignment } from './builtin/prompt-alignment.js';
import { qcm } from './builtin/qcm.js';
import { ragMetrics } from './builtin/rag.js';
import { ragas } from './builtin/ragas.js';
import { rouge } from './builtin/rouge.js';
import { stringMatch } from './builtin/string-match.js';
import { summarization } from './builtin/summarization.js';
import type { Metric } from './types.js';

const FAMILIES: readonly (Metric | readonly Metric[])[] = [
  stringMatch,
  jsonMetrics,
  levenshtein,
  bleu,
  rouge,
  chrf,
  numericDiff,
  qcm,
  ocr,
  outputLength,
  opsMetrics,
  evalapJudges,
  judgeAdhoc,
  gEval,
  ragMetrics,
  promptAlignment,
  summarization,
  piiLeakage,
  ragas,
];

/** Every metric, in the order `GET /v1/metrics` lists them. */
export const METRICS: readonly Metric[] = FAMILIES.flat();

const byName = new Map(METRICS.map((m) => [m.name, m]));
if (byName.size !== METRICS.length) throw new Error('two metrics share a name');

export function getMetric(name: string): Metric | undefined {
  return byName.get(name);
}

/** The fields a use of the metric reads: its own, and those its params add (judge_adhoc's template variables). */
export function requiredFields(metric: Metric, params: Record<string, unknown> | null): string[] {
  return [...metric.require, ...(metric.requireFromParams?.(params ?? {}) ?? [])];
}

/** The registry as `GET /v1/metrics` shows it. */
export function listMetrics() {
  return METRICS.map((m) => {
    const params = z.toJSONSchema(m.params, { unrepresentable: 'any' }) as { properties?: Record<string, unknown>; required?: string[] };
    const names = Object.keys(params.properties ?? {});
    const required = new Set(params.required ?? []);
    return {
      name: m.name,
      description: m.description,
      type: m.type,
      needs_judge: 'judge' in m,
      // Sorted, as Evalap lists it.
      require: [...m.require].sort(),
      params,
      // Evalap's names for the keys of `params` a metric use must give, and may give (sorted, as it lists them).
      required_params: names.filter((n) => required.has(n)).sort(),
      optional_params: names.filter((n) => !required.has(n)).sort(),
      score_range: m.range.map((v) => (Number.isFinite(v) ? v : null)),
      higher_is_better: m.higherIsBetter,
    };
  });
}
