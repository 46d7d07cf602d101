/**
 * Experiment sets, newest first: status, progress and failure rate, polled
 * while any set runs; stop and retry. Experiments outside a set are listed
 * below (each opens as a set would: its details and scores).
 */
import { useState } from 'preact/hooks';
import { request } from '../api';
import { Empty, ErrorNote, Loading } from '../components/feedback';
import { Progress, StatusBadge } from '../components/status';
import { pct, when } from '../format';
import { isRunning, setTotals } from '../stats';
import type { Experiment, ExperimentSet } from '../types';
import { useApi } from '../use-api';

function SetActions({ set, onDone }: { set: ExperimentSet; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const act = async (what: 'stop' | 'retry') => {
    setBusy(true);
    setError(undefined);
    try {
      await request('POST', `/v1/${what}/experiment_set/${set.id}`);
      onDone();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const totals = setTotals(set.experiments);
  return (
    <span class="actions">
      {isRunning(set.status) && (
        <button type="button" disabled={busy} onClick={() => act('stop')} aria-label={`Stop ${set.name}`}>
          Stop
        </button>
      )}
      {!isRunning(set.status) && (totals.failed > 0 || set.status === 'stopped') && (
        <button type="button" disabled={busy} onClick={() => act('retry')} aria-label={`Retry the failed rows of ${set.name}`}>
          Retry
        </button>
      )}
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

export function SetsView() {
  const sets = useApi<ExperimentSet[]>('/v1/experiment_sets?skip=0&limit=100', { poll: (list) => list.some((s) => isRunning(s.status)), idleMs: 10_000 });
  const orphans = useApi<Experiment[]>('/v1/experiments?orphan=true&skip=0&limit=100');
  return (
    <section>
      <h1>Experiment sets</h1>
      {sets.error && <ErrorNote error={sets.error} />}
      {!sets.data && !sets.error && <Loading />}
      {sets.data && sets.data.length === 0 && <Empty>No experiment set yet: launch one from the Launch page, or with `evalap run`.</Empty>}
      {sets.data && sets.data.length > 0 && (
        <table class="grid" data-testid="sets-table">
          <thead>
            <tr>
              <th scope="col">Set</th>
              <th scope="col">Status</th>
              <th scope="col">Experiments</th>
              <th scope="col">Progress</th>
              <th scope="col">Failure rate</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sets.data.map((s) => {
              const t = setTotals(s.experiments);
              return (
                <tr key={s.id} data-set-id={s.id}>
                  <td>
                    <a href={`#/set/${s.id}`}>{s.name}</a> <span class="muted">#{s.id}</span>
                  </td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td class="num">{s.experiments.length}</td>
                  <td>
                    <Progress value={t.progress} label={`progress of ${s.name}`} />
                  </td>
                  <td class={t.failed > 0 ? 'num warn' : 'num'} title={`${t.failed} of ${t.tried} answers and scores failed`}>
                    {pct(t.failureRate)}
                  </td>
                  <td>{when(s.created_at)}</td>
                  <td>
                    <SetActions set={s} onDone={sets.reload} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {orphans.data && orphans.data.length > 0 && (
        <>
          <h2>Experiments outside a set</h2>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Experiment</th>
                <th scope="col">Status</th>
                <th scope="col">Dataset</th>
                <th scope="col">Model</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {orphans.data.map((e) => (
                <tr key={e.id}>
                  <td>
                    <a href={`#/experiment/${e.id}`}>{e.name}</a> <span class="muted">#{e.id}</span>
                  </td>
                  <td>
                    <StatusBadge status={e.experiment_status} />
                  </td>
                  <td>{e.dataset?.name}</td>
                  <td>{e.model ? e.model.aliased_name || e.model.name : '—'}</td>
                  <td>{when(e.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
