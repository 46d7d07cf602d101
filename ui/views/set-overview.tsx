/** Overview: each experiment's status, counters, model and parameters, labelled by what differs from the others. */
import { Progress, StatusBadge } from '../components/status';
import { text } from '../format';
import { progressOf } from '../stats';
import type { Experiment } from '../types';
import { differingParameters, experimentLabels, type Variant } from '../variant-labels';
import type { SetData } from './set';

const modelParams = (e: Experiment) => {
  const m = e.model;
  if (!m) return '—';
  const parts = { ...(m.sampling_params ?? {}), ...(m.extra_params ?? {}) };
  return Object.entries(parts)
    .map(([k, v]) => `${k}=${text(v)}`)
    .join(', ');
};

export function OverviewTab({ data }: { data: SetData; variants: Variant[] }) {
  const labelOf = experimentLabels(data.experiments);
  const differing = differingParameters(data.experiments);
  return (
    <div>
      {data.set.cv && (
        <p class="muted">
          Grid over <code>{Object.keys(data.set.cv.grid_params).join(', ')}</code>
          {data.set.cv.repeat > 1 && `, each repeated ${data.set.cv.repeat} times`}. Parameters that differ: {differing.join(', ') || 'none'}.
        </p>
      )}
      <table class="grid" data-testid="overview-table">
        <thead>
          <tr>
            <th scope="col">Experiment</th>
            <th scope="col">Variant</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Answers ok / tried / rows</th>
            <th scope="col">Scores ok / tried</th>
            <th scope="col">Model</th>
            <th scope="col">Parameters</th>
            <th scope="col">Judge</th>
            <th scope="col">Dataset</th>
          </tr>
        </thead>
        <tbody>
          {data.experiments.map((e) => (
            <tr key={e.id}>
              <td>
                <a href={`${data.base}/details?exp=${e.id}`}>{e.name}</a> <span class="muted">#{e.id}</span>
              </td>
              <td>{labelOf.get(e.id)}</td>
              <td>
                <StatusBadge status={e.experiment_status} /> {e.experiment_status === 'stopped' && e.stop_reason && <span class="muted small">{e.stop_reason}</span>}
              </td>
              <td>
                <Progress value={progressOf(e)} label={`progress of ${e.name}`} />
              </td>
              <td class={e.num_try > e.num_success ? 'num warn' : 'num'}>
                {e.model ? `${e.num_success} / ${e.num_try} / ${e.num_total}` : `— / — / ${e.num_total}`}
              </td>
              <td class={e.num_observation_try > e.num_observation_success ? 'num warn' : 'num'}>
                {e.num_observation_success} / {e.num_observation_try}
              </td>
              <td>{e.model ? `${e.model.aliased_name || e.model.name}${e.model.has_raw_output ? ' (given outputs)' : ''}` : 'none (dataset metrics)'}</td>
              <td class="small">{modelParams(e)}</td>
              <td>{e.judge_model ? e.judge_model.aliased_name || e.judge_model.name : '—'}</td>
              <td>{e.dataset?.name}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
