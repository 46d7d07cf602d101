/**
 * Leaderboard of one metric at a time (different metrics never ranked
 * together), optionally on one dataset: each experiment's mean with its 95%
 * CI and support, and what it cost (answers and judge calls). The metrics
 * offered are those the experiments used (the first 1,000).
 */
import { ErrorNote, Loading, Empty } from '../components/feedback';
import { usd } from '../../core/cost/units';
import { ci, num, when } from '../format';
import { useQueryParams } from '../hash-location';
import type { Dataset, Experiment, LeaderboardEntry } from '../types';
import { useApi } from '../use-api';

/** The total, with what it is made of in its tooltip; the reason when it is unknown. */
function CostCell({ cost }: { cost: LeaderboardEntry['cost'] }) {
  const parts = `answers ${usd(cost.answers)} (${usd(cost.per_answer)} each) + judge ${usd(cost.judge)}`;
  return (
    <td class="num" title={cost.reason ? `${parts}; ${cost.reason}` : parts}>
      {usd(cost.total)}
    </td>
  );
}

export function LeaderboardView() {
  const [params, setParams] = useQueryParams();
  const recent = useApi<Experiment[]>('/v1/experiments?limit=1000');
  const datasets = useApi<Dataset[]>('/v1/datasets');
  const used = [...new Set((recent.data ?? []).flatMap((e) => (e.results ?? []).map((r) => r.metric_aliased_name)))].sort();
  const metric = params.get('metric') ?? used[0];
  const dataset = params.get('dataset') ?? '';
  const q = new URLSearchParams();
  if (metric) q.set('metric_name', metric);
  if (dataset) q.set('dataset_name', dataset);
  const board = useApi<{ entries: LeaderboardEntry[] }>(metric ? `/v1/leaderboard?${q}` : null);
  return (
    <section>
      <h1>Leaderboard</h1>
      <div class="filters">
        <label>
          Metric{' '}
          <select id="leaderboard-metric" value={metric ?? ''} onChange={(e) => setParams({ metric: (e.target as HTMLSelectElement).value })}>
            {used.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Dataset{' '}
          <select value={dataset} onChange={(e) => setParams({ dataset: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">all datasets</option>
            {(datasets.data ?? []).map((d) => (
              <option key={d.id} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {recent.data && used.length === 0 && <Empty>No experiment has scores yet.</Empty>}
      {board.error && <ErrorNote error={board.error} />}
      {metric && !board.data && !board.error && <Loading />}
      {board.data && (
        <table class="grid" data-testid="leaderboard-table">
          <caption class="muted">Ranked by the mean of {metric} alone; other metrics have their own board.</caption>
          <thead>
            <tr>
              <th scope="col">Rank</th>
              <th scope="col">Model</th>
              <th scope="col">Experiment</th>
              <th scope="col">Dataset</th>
              <th scope="col">Mean</th>
              <th scope="col">95% CI</th>
              <th scope="col">Support</th>
              <th scope="col">Judge</th>
              <th scope="col">Cost (USD)</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {board.data.entries.map((e, i) => (
              <tr key={e.experiment_id}>
                <td class="num">{i + 1}</td>
                <td>{e.model_name}</td>
                <td>
                  <a href={`#/experiment/${e.experiment_id}`}>{e.experiment_name}</a>
                  {e.experiment_set_name && <span class="muted"> in {e.experiment_set_name}</span>}
                </td>
                <td>{e.dataset_name}</td>
                <td class="num">
                  <strong>{num(e.main_metric_score)}</strong>
                </td>
                <td class="num">{ci(e.summary.ci95)}</td>
                <td class="num">{e.summary.support}</td>
                <td>{e.judge_model ?? '—'}</td>
                <CostCell cost={e.cost} />
                <td>{when(e.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
