/**
 * Per-row results of a run, as the exports carry them: one record per dataset
 * row and metric, read page by page from `GET /v1/experiment/{id}/rows`.
 */
import type { ApiClient } from './client.js';

export interface RowRecord {
  experiment_id: number;
  experiment: string;
  /** What tells the experiment apart from the others of its set (core/variant-labels.ts). */
  variant: string;
  model: string;
  num_line: number;
  query: string | null;
  output_true: string | null;
  answer: string | null;
  answer_error: string | null;
  /** null for an experiment without metrics: its records are its answers alone. */
  metric: string | null;
  score: number | null;
  /** The judge's explanation, when the metric gives one. */
  observation: string | null;
  observation_error: string | null;
}

/** The route's largest page. */
const PAGE = 500;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));

/** Whether the record is a failure: its answer or its metric failed, or the metric recorded no score. */
export const failed = (r: RowRecord) => r.answer_error !== null || r.observation_error !== null || (r.metric !== null && r.score === null);

/** Every row of each experiment (`GET /v1/experiment/{id}?with_results=true` bodies), in experiment then row order. */
export async function fetchRowRecords(api: ApiClient, experiments: any[], labels: string[]): Promise<RowRecord[]> {
  const out: RowRecord[] = [];
  for (const [i, e] of experiments.entries()) {
    const metrics: (string | null)[] = (e.results ?? []).map((r: any) => r.metric_aliased_name);
    if (!metrics.length) metrics.push(null);
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/v1/experiment/${e.id}/rows?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const row of page.rows) {
        for (const metric of metrics) {
          const o = metric === null ? undefined : row.observations?.[metric];
          out.push({
            experiment_id: e.id,
            experiment: e.name,
            variant: labels[i],
            model: e.model?.aliased_name || e.model?.name || '',
            num_line: row.num_line,
            query: text(row.data?.query),
            output_true: text(row.data?.output_true),
            answer: text(row.answer?.answer),
            answer_error: text(row.answer?.error_msg),
            metric,
            score: typeof o?.score === 'number' ? o.score : null,
            observation: text(o?.observation),
            observation_error: text(o?.error_msg),
          });
        }
      }
      cursor = page.next_cursor;
    } while (cursor);
  }
  return out;
}
