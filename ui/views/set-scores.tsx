/**
 * Scores: per variant (model × parameters) and metric, the mean with its 95%
 * CI, or for repeated variants the mean ± std of the repeats' means; the
 * best of each metric highlighted (by the metric's direction); support shown
 * where rows have no score. The metrics shown are picked in the URL (?metrics=).
 */
import { Empty } from '../components/feedback';
import { num } from '../format';
import { useQueryParams } from '../hash-location';
import { bestIndex, cellOf, metricInfo, metricsOf, type Cell } from '../stats';
import type { Variant } from '../variant-labels';
import type { SetData } from './set';

function CellView({ cell, best }: { cell: Cell | undefined; best: boolean }) {
  if (!cell) return <td class="num muted">—</td>;
  const partial = cell.support < cell.total;
  return (
    <td class={best ? 'num best' : 'num'}>
      <strong>{num(cell.mean)}</strong>
      {best && <span class="sr-only"> (best)</span>}
      {cell.low !== null && <span class="muted"> [{num(cell.low)}, {num(cell.high)}]</span>}
      {cell.runs > 1 && (
        <div class="muted small" title="standard deviation of the runs' means">
          {cell.runs} runs, ± {num(cell.std)} between runs
        </div>
      )}
      {partial && (
        <div class="warn small" title="rows with a score over rows evaluated">
          n = {cell.support}/{cell.total}
        </div>
      )}
    </td>
  );
}

export function ScoresTab({ data, variants }: { data: SetData; variants: Variant[] }) {
  const [params, setParams] = useQueryParams();
  const all = metricsOf(data.experiments).map((r) => r.metric_aliased_name);
  const picked = params.get('metrics')?.split(',').filter((m) => all.includes(m));
  const shown = picked && picked.length ? picked : all;
  if (all.length === 0) return <Empty>No scores yet.</Empty>;
  const toggle = (m: string) => {
    const next = shown.includes(m) ? shown.filter((x) => x !== m) : all.filter((x) => x === m || shown.includes(x));
    setParams({ metrics: next.length === all.length || next.length === 0 ? undefined : next.join(',') });
  };
  const nameOf = (alias: string) => metricsOf(data.experiments).find((r) => r.metric_aliased_name === alias)?.metric_name ?? alias;
  return (
    <div>
      <fieldset class="picker">
        <legend>Metrics shown</legend>
        {all.map((m) => (
          <label key={m}>
            <input type="checkbox" checked={shown.includes(m)} onChange={() => toggle(m)} /> {m}
          </label>
        ))}
      </fieldset>
      <table class="grid scores" data-testid="scores-table">
        <caption class="muted">Mean [95% CI]; repeated runs: their rows pooled, and ± the std of the runs' means. Best of each metric highlighted.</caption>
        <thead>
          <tr>
            <th scope="col">Model / variant</th>
            {shown.map((m) => {
              const info = metricInfo(data.metrics, nameOf(m));
              return (
                <th scope="col" key={m}>
                  {m}
                  {info && <div class="muted small">{info.higher_is_better ? 'higher is better' : 'lower is better'}</div>}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {variants.map((v, i) => (
            <tr key={v.label}>
              <th scope="row">{v.label}</th>
              {shown.map((m) => {
                const cells = variants.map((x) => cellOf(x.experiments, m, metricInfo(data.metrics, nameOf(m))?.score_range));
                const best = bestIndex(
                  cells.map((c) => c?.mean),
                  metricInfo(data.metrics, nameOf(m))?.higher_is_better ?? true,
                );
                return <CellView key={m} cell={cells[i]} best={variants.length > 1 && best === i} />;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
