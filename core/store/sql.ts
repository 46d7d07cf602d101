/** Small pieces every store module shares. */
import { ConflictError } from '../errors.js';
import { summarize } from '../stats.js';
import { getMetric } from '../metrics/registry.js';

/** A timestamp column as the API shows it: ISO 8601 in UTC with milliseconds. */
export const isoTime = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Runs a write, turning a unique violation (a taken name) into a 409 with `message`. */
export async function uniqueName<T>(write: Promise<T>, message: () => string): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new ConflictError(message());
    throw err;
  }
}

/** The score aggregates stored on a result row. */
export interface ScoreColumns {
  score_count: number;
  score_sum: number;
  score_sumsq: number;
  score_min: number | null;
  score_max: number | null;
}

/** A result row's aggregates as a summary (mean, std, CI...), and the rest of the row. */
/** `metricName`: the metric (not its alias) whose range bounds the interval (core/stats.ts). */
export function withSummary<T extends ScoreColumns>(row: T, metricName?: string) {
  const { score_count, score_sum, score_sumsq, score_min, score_max, ...rest } = row;
  const range = metricName === undefined ? undefined : getMetric(metricName)?.range;
  return { rest, summary: summarize({ count: score_count, sum: score_sum, sumsq: score_sumsq, min: score_min, max: score_max }, range) };
}
