/**
 * Scoring of the metrics that need no model call, computed in the task that
 * produced (or read) the answer: each registered inline metric's own scorer.
 * A metric never throws: bad input is a recorded error on its observation.
 */
import { getMetric } from './registry.js';
import type { InlineMetric, ScoreInput, ScoreOutcome } from './types.js';

function inlineMetric(name: string): InlineMetric | undefined {
  const def = getMetric(name);
  return def && (def.type === 'deterministic' || def.type === 'ops') ? def : undefined;
}

/** Whether a metric is scored inline (no model call) rather than by an observation task. */
export function isInline(name: string): boolean {
  return inlineMetric(name) !== undefined;
}

/** Scores one inline metric on one row; never throws. */
export function scoreInline(name: string, params: Record<string, unknown> | null, input: ScoreInput): ScoreOutcome {
  const metric = inlineMetric(name);
  if (!metric) return { error: `metric ${name} cannot be computed by this version yet` };
  try {
    return metric.score(input, params ?? {});
  } catch (err) {
    return { error: `metric ${name} failed: ${(err as Error).message}` };
  }
}

/**
 * Corpus-level scores of the metrics that have one (SacreBLEU's corpus BLEU
 * and corpus chrF, which are not means of the sentence scores), from the
 * element-wise sum of their rows' `corpus_stats` (kept on the result).
 */
export function corpusScore(name: string, params: Record<string, unknown> | null, stats: number[] | null): number | null {
  if (!stats) return null;
  return inlineMetric(name)?.corpusScore?.(stats, params) ?? null;
}
