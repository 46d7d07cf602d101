/**
 * An experiment's rows, page by page: what a details view shows for each
 * dataset row (its fields under Evalap's names, the answer, every metric's
 * score, observation and error), with the filters a user debugging a run
 * needs (failed rows, a score range, text search) and a sort by any metric.
 * The unpaginated `with_answers` / `with_df` views are bounded; this is the
 * route for large experiments.
 */
import type { CoreContext } from './context.js';
import { offsetCursor } from './cursor.js';
import { ValidationError } from './errors.js';
import { getMetric } from './metrics/registry.js';
import { experimentRows } from './store/experiment-rows.js';
import * as store from './store/experiments.js';

export interface RowsQuery {
  limit: number;
  cursor?: string;
  failed?: boolean;
  metric?: string;
  min_score?: number;
  max_score?: number;
  sort?: string;
  order?: 'asc' | 'desc';
  q?: string;
}


export async function listExperimentRows(core: CoreContext, id: number, q: RowsQuery) {
  const row = await store.getExperimentRow(core.db, id);
  const results = await store.listResults(core.db, id, false);
  const byName = new Map(results.map((r) => [r.metric_aliased_name, r]));
  const known = () => (results.length ? results.map((r) => r.metric_aliased_name).join(', ') : 'none');
  const resultOf = (name: string, path: string) => {
    const r = byName.get(name);
    if (!r) throw new ValidationError('unknown metric', [{ path, message: `the experiment has no metric ${JSON.stringify(name)} (it has: ${known()})` }]);
    return r;
  };
  if ((q.min_score !== undefined || q.max_score !== undefined) && q.metric === undefined) {
    throw new ValidationError('invalid query', [{ path: 'metric', message: 'min_score and max_score filter one metric: name it with metric' }]);
  }
  if (q.sort !== undefined && q.sort !== 'num_line' && q.metric !== undefined && q.sort !== q.metric) {
    throw new ValidationError('invalid query', [{ path: 'sort', message: 'sort by the metric given in metric, or by num_line' }]);
  }
  const filtered = q.metric === undefined ? undefined : resultOf(q.metric, 'metric');
  const sortedBy = q.sort === undefined || q.sort === 'num_line' ? undefined : resultOf(q.sort, 'sort');
  const metricResult = sortedBy ?? filtered;
  // By default a metric sorts worst first: the rows a user looks at when a score disappoints.
  const higherIsBetter = metricResult ? getMetric(metricResult.metric_name)?.higherIsBetter !== false : true;
  const offset = offsetCursor.decode(q.cursor);
  const page = await experimentRows(core.db, {
    experimentId: id,
    resultIds: results.map((r) => r.id),
    metricResultId: metricResult?.id,
    failed: q.failed,
    minScore: q.min_score,
    maxScore: q.max_score,
    search: q.q,
    sortByScore: sortedBy ? (q.order ?? (higherIsBetter ? 'asc' : 'desc')) : undefined,
    offset,
    limit: q.limit,
  });
  const columnsMap = Object.entries(row.dataset.columns_map ?? {});
  const rows = page.docs.map(({ data, ...rest }) => {
    const fields = { ...(data as Record<string, unknown>) };
    // The dataset's columns under the names metrics read them by (query, output_true, ...), as the runner sees them.
    for (const [field, column] of columnsMap) if (column in fields && !(field in fields)) fields[field] = fields[column];
    return { ...rest, data: fields };
  });
  const next = offset + rows.length < page.total && rows.length > 0 ? offsetCursor.encode(offset + rows.length) : null;
  return { experiment_id: id, total: page.total, rows, next_cursor: next };
}
