/**
 * Schedules: each with its cron, next run and state (pause, resume); a
 * schedule's history: its runs (launched, skipped, failed) and the scores of
 * the sets they launched over time, per model and metric, with the runs a
 * comparison flagged as regressions marked.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, request } from '../api';
import { ChartCanvas, PALETTE } from '../components/chart';
import { Empty, ErrorNote, Loading } from '../components/feedback';
import { StatusBadge } from '../components/status';
import { ci, num, when } from '../format';
import { useQueryParams } from '../hash-location';
import type { Experiment, Schedule, ScheduleRun } from '../types';
import { cellOf, metricsOf } from '../stats';
import { useApi } from '../use-api';
import { experimentLabels, variantsOf } from '../variant-labels';

/** How many of the latest runs the history reads the scores of. */
const HISTORY_RUNS = 30;

interface Point {
  run: ScheduleRun;
  experiments: Experiment[];
}

function useHistory(runs: ScheduleRun[]) {
  const [points, setPoints] = useState<Point[]>();
  const launched = runs.filter((r) => r.status === 'launched' && r.experiment_set_id !== null).slice(-HISTORY_RUNS);
  const key = launched.map((r) => r.id).join(',');
  useEffect(() => {
    let gone = false;
    Promise.all(launched.map(async (run) => ({ run, experiments: await get<Experiment[]>(`/v1/experiments?set_id=${run.experiment_set_id}&limit=1000`) }))).then(
      (p) => !gone && setPoints(p),
      () => !gone && setPoints([]),
    );
    return () => {
      gone = true;
    };
  }, [key]);
  return points;
}

function History({ schedule }: { schedule: Schedule }) {
  const runs = schedule.runs ?? [];
  const points = useHistory(runs);
  if (runs.length === 0) return <Empty>No run yet. Next: {when(schedule.next_fire_at)}.</Empty>;
  const regressions = runs.flatMap((r) => (r.comparison?.metrics ?? []).filter((m) => m.regression).map((m) => ({ run: r, m })));
  // One line per variant (labelled by what differs between the set's experiments, repeats averaged) and metric.
  const series = new Map<string, (number | null)[]>();
  const flagged = new Map<string, boolean[]>();
  const labelOf = new Map<number, string>();
  // A regression names the run's experiment, a repeat with its `#n`.
  for (const p of points ?? []) for (const [id, label] of experimentLabels(p.experiments)) labelOf.set(id, label);
  points?.forEach((p, i) =>
    variantsOf(p.experiments).forEach((v) => {
      for (const r of metricsOf(v.experiments)) {
        const k = `${v.label} · ${r.metric_aliased_name}`;
        if (!series.has(k)) (series.set(k, new Array(points.length).fill(null)), flagged.set(k, new Array(points.length).fill(false)));
        series.get(k)![i] = cellOf(v.experiments, r.metric_aliased_name)?.mean ?? null;
        flagged.get(k)![i] = (p.run.comparison?.metrics ?? []).some((m) => m.regression && m.metric === r.metric_aliased_name && v.experiments.some((e) => e.id === m.experiment_b));
      }
    }),
  );
  return (
    <div>
      {points && series.size > 0 && (
        <ChartCanvas
          label={`Scores of ${schedule.name}'s runs over time; regressions marked with a red triangle`}
          height={300}
          config={{
            type: 'line',
            data: {
              labels: points.map((p) => new Date(p.run.tick_at).toLocaleString()),
              datasets: [...series.entries()].map(([k, values], i) => ({
                label: k,
                data: values,
                borderColor: PALETTE[i % PALETTE.length],
                backgroundColor: PALETTE[i % PALETTE.length],
                pointStyle: flagged.get(k)!.map((f) => (f ? 'triangle' : 'circle')),
                pointRadius: flagged.get(k)!.map((f) => (f ? 9 : 3)),
                pointBackgroundColor: flagged.get(k)!.map((f) => (f ? '#d0021b' : PALETTE[i % PALETTE.length])),
              })),
            },
            options: { scales: { y: { title: { display: true, text: 'mean score' } } } },
          }}
        />
      )}
      {regressions.length > 0 && (
        <>
          <h3>Regressions</h3>
          <ul data-testid="regressions">
            {regressions.map(({ run, m }) => (
              <li key={`${run.id}-${m.model}-${m.metric}`} class="error">
                {when(run.tick_at)}: {labelOf.get(m.experiment_b) ?? m.model} {m.metric} {num(m.mean_a)} → {num(m.mean_b)} (difference {num(m.difference)} {ci(m.ci95)})
              </li>
            ))}
          </ul>
        </>
      )}
      <table class="grid" data-testid="schedule-runs">
        <thead>
          <tr>
            <th scope="col">Tick</th>
            <th scope="col">Status</th>
            <th scope="col">Set</th>
            <th scope="col">Compared with the previous run</th>
          </tr>
        </thead>
        <tbody>
          {[...runs].reverse().map((r) => (
            <tr key={r.id} class={r.comparison?.metrics.some((m) => m.regression) ? 'regression' : ''}>
              <td>{when(r.tick_at)}</td>
              <td>
                <StatusBadge status={r.status} /> {r.reason && <span class="muted small">{r.reason}</span>}
              </td>
              <td>{r.experiment_set_id ? <a href={`#/set/${r.experiment_set_id}`}>set #{r.experiment_set_id}</a> : '—'}</td>
              <td>
                {r.comparison ? (
                  <a href={`#/compare?a=${r.comparison.previous_set}&b=${r.experiment_set_id}`}>
                    {r.comparison.metrics.filter((m) => m.regression).length} regression(s) in {r.comparison.metrics.length} comparisons
                  </a>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SchedulesView() {
  const [params, setParams] = useQueryParams();
  const list = useApi<Schedule[]>('/v1/schedules');
  const id = params.get('id');
  const one = useApi<Schedule>(id ? `/v1/schedule/${id}` : null);
  const [error, setError] = useState<string>();
  const togglePause = async (s: Schedule) => {
    setError(undefined);
    try {
      await request('PATCH', `/v1/schedule/${s.id}`, { paused: !s.paused });
      list.reload();
      one.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section>
      <h1>Schedules</h1>
      {(list.error || error) && <ErrorNote error={(list.error ?? error)!} />}
      {!list.data && !list.error && <Loading />}
      {list.data && list.data.length === 0 && <Empty>No schedule yet: create one with POST /v1/schedule (a cron expression and an experiment-set template).</Empty>}
      {list.data && list.data.length > 0 && (
        <table class="grid" data-testid="schedules-table">
          <thead>
            <tr>
              <th scope="col">Schedule</th>
              <th scope="col">Cron</th>
              <th scope="col">Next run</th>
              <th scope="col">Last tick</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((s) => (
              <tr key={s.id}>
                <td>
                  <a href={`#/schedules?id=${s.id}`} onClick={() => setParams({ id: String(s.id) })}>
                    {s.name}
                  </a>
                </td>
                <td>
                  <code>{s.cron}</code> <span class="muted">{s.timezone}</span>
                </td>
                <td>{s.paused ? <span class="muted">paused</span> : when(s.next_fire_at)}</td>
                <td>{when(s.last_tick_at)}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => togglePause(s)} aria-label={`${s.paused ? 'Resume' : 'Pause'} ${s.name}`}>
                    {s.paused ? 'Resume' : 'Pause'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {one.error && <ErrorNote error={one.error} />}
      {one.data && (
        <section aria-label={`History of ${one.data.name}`}>
          <h2>History of {one.data.name}</h2>
          <History schedule={one.data} />
        </section>
      )}
    </section>
  );
}
