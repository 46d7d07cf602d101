/**
 * Compare two runs: per model and metric, the paired difference of means
 * (B − A) with its 95% CI and a regression flag (GET /v1/compare); and for a
 * chosen line, the rows whose score changed, side by side.
 */
import { useEffect, useState } from 'preact/hooks';
import { Empty, ErrorNote, Loading } from '../components/feedback';
import { ci, num, text } from '../format';
import { useQueryParams } from '../hash-location';
import type { Experiment, ExperimentSet, MetricComparison, Row } from '../types';
import { useApi } from '../use-api';
import { firstRows } from '../rows-pages';
import { experimentLabels } from '../variant-labels';

/** Rows read per experiment to find the changed ones. */
const ROWS_READ = 2000;


function ChangedRows({ line }: { line: MetricComparison }) {
  const [state, setState] = useState<{ changed: [Row, Row][]; read: number; total: number } | { error: string }>();
  useEffect(() => {
    setState(undefined);
    Promise.all([firstRows(line.experiment_a, ROWS_READ), firstRows(line.experiment_b, ROWS_READ)]).then(
      ([a, b]) => {
        const byLine = new Map(b.rows.map((r) => [r.num_line, r]));
        const changed: [Row, Row][] = [];
        for (const ra of a.rows) {
          const rb = byLine.get(ra.num_line);
          if (rb && (ra.observations[line.metric]?.score ?? null) !== (rb.observations[line.metric]?.score ?? null)) changed.push([ra, rb]);
        }
        setState({ changed, read: Math.min(a.rows.length, b.rows.length), total: Math.max(a.total, b.total) });
      },
      (err: Error) => setState({ error: err.message }),
    );
  }, [line.experiment_a, line.experiment_b, line.metric]);
  if (!state) return <Loading what="Reading the rows" />;
  if ('error' in state) return <ErrorNote error={state.error} />;
  const cell = (r: Row) => r.observations[line.metric];
  return (
    <section aria-label="Rows whose score changed">
      <h2>
        Rows whose {line.metric} changed — {line.model}
      </h2>
      <p class="muted">
        {state.changed.length} of {state.read.toLocaleString('en')} rows compared
        {state.read < state.total && ` (the first ${state.read.toLocaleString('en')} of ${state.total.toLocaleString('en')})`}.
      </p>
      {state.changed.length === 0 ? (
        <Empty>No row changed score.</Empty>
      ) : (
        <table class="grid" data-testid="changed-rows">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Query</th>
              <th scope="col">Answer A</th>
              <th scope="col">Score A</th>
              <th scope="col">Answer B</th>
              <th scope="col">Score B</th>
            </tr>
          </thead>
          <tbody>
            {state.changed.map(([a, b]) => (
              <tr key={a.num_line}>
                <td class="num">{a.num_line}</td>
                <td>{text(a.data.query)}</td>
                <td>{text(a.answer?.answer ?? a.answer?.error_msg)}</td>
                <td class="num">{cell(a)?.error_msg ? 'failed' : num(cell(a)?.score)}</td>
                <td>{text(b.answer?.answer ?? b.answer?.error_msg)}</td>
                <td class="num">{cell(b)?.error_msg ? 'failed' : num(cell(b)?.score)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function CompareView() {
  const [params, setParams] = useQueryParams();
  const sets = useApi<ExperimentSet[]>('/v1/experiment_sets?skip=0&limit=200');
  const a = params.get('a');
  const b = params.get('b');
  const comparison = useApi<{ metrics: MetricComparison[] }>(a && b ? `/v1/compare?set_a=${a}&set_b=${b}` : null);
  const [picked, setPicked] = useState<MetricComparison>();
  // The API names a line by its model; a grid's variants share it: label them by the parameters that differ.
  const experimentsA = useApi<Experiment[]>(a ? `/v1/experiments?set_id=${a}&limit=1000` : null);
  const labelOf = experimentLabels(experimentsA.data ?? []);
  const modelOf = (m: MetricComparison) => labelOf.get(m.experiment_a) ?? m.model;
  const choose = (key: 'a' | 'b') => (
    <select id={`set-${key}`} value={params.get(key) ?? ''} onChange={(e) => (setPicked(undefined), setParams({ [key]: (e.target as HTMLSelectElement).value || undefined }))}>
      <option value="">choose a set</option>
      {(sets.data ?? []).map((s) => (
        <option key={s.id} value={String(s.id)}>
          {s.name} (#{s.id})
        </option>
      ))}
    </select>
  );
  return (
    <section>
      <h1>Compare two runs</h1>
      <p class="muted">Experiments are paired by their position in each set; the difference is B − A over the rows both scored, with its 95% CI. A regression is an interval wholly on the worse side of zero.</p>
      <div class="filters">
        <label for="set-a">Run A</label>
        {choose('a')}
        <label for="set-b">Run B</label>
        {choose('b')}
      </div>
      {comparison.error && <ErrorNote error={comparison.error} />}
      {a && b && !comparison.data && !comparison.error && <Loading />}
      {comparison.data && comparison.data.metrics.length === 0 && <Empty>Nothing to compare: no model and metric in common.</Empty>}
      {comparison.data && comparison.data.metrics.length > 0 && (
        <table class="grid" data-testid="compare-table">
          <thead>
            <tr>
              <th scope="col">Model / variant</th>
              <th scope="col">Metric</th>
              <th scope="col">Rows paired</th>
              <th scope="col">Mean A</th>
              <th scope="col">Mean B</th>
              <th scope="col">B − A</th>
              <th scope="col">95% CI</th>
              <th scope="col">Verdict</th>
              <th scope="col">
                <span class="sr-only">Rows</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {comparison.data.metrics.map((m) => (
              <tr key={`${m.experiment_a}-${m.metric}`} class={m.regression ? 'regression' : ''}>
                <td>{modelOf(m)}</td>
                <td>{m.metric}</td>
                <td class="num">{m.n}</td>
                <td class="num">{num(m.mean_a)}</td>
                <td class="num">{num(m.mean_b)}</td>
                <td class="num">{m.difference !== null && m.difference > 0 ? '+' : ''}{num(m.difference)}</td>
                <td class="num">{ci(m.ci95)}</td>
                <td>{m.regression ? <strong class="error">regression</strong> : <span class="muted">no regression</span>}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => setPicked({ ...m, model: modelOf(m) })} aria-label={`Changed rows: ${m.metric}, ${modelOf(m)}`}>
                    Changed rows
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {picked && <ChangedRows line={picked} />}
    </section>
  );
}
