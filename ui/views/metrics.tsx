/** Metrics, grouped by type: what each measures, what each row must provide, its params, scale and direction. */
import { ErrorNote, Loading } from '../components/feedback';
import type { MetricInfo } from '../types';
import { useApi } from '../use-api';

const range = ([lo, hi]: [number | null, number | null]) => `${lo ?? '−∞'} to ${hi ?? '∞'}`;

export function MetricsView() {
  const metrics = useApi<MetricInfo[]>('/v1/metrics');
  if (metrics.error) return <ErrorNote error={metrics.error} />;
  if (!metrics.data) return <Loading />;
  const types = [...new Set(metrics.data.map((m) => m.type))].sort();
  return (
    <section>
      <h1>Metrics</h1>
      <p class="muted">{metrics.data.length} metrics. "Requires" lists what each row must provide: dataset columns or fields of the answer.</p>
      {types.map((t) => (
        <section key={t} aria-label={`${t} metrics`}>
          <h2>
            {t} <span class="muted small">({metrics.data!.filter((m) => m.type === t).length})</span>
          </h2>
          <div class="cards">
            {metrics.data!
              .filter((m) => m.type === t)
              .map((m) => (
                <article class="card" key={m.name} data-metric={m.name}>
                  <h3>{m.name}</h3>
                  <p>{m.description}</p>
                  <p class="small">
                    <strong>Requires:</strong> {m.require.join(', ') || 'nothing'}
                    <br />
                    <strong>Scale:</strong> {range(m.score_range)}, {m.higher_is_better ? 'higher is better' : 'lower is better'}
                    {(m.required_params.length > 0 || m.optional_params.length > 0) && (
                      <>
                        <br />
                        <strong>Params:</strong> {[...m.required_params.map((p) => `${p} (required)`), ...m.optional_params].join(', ')}
                      </>
                    )}
                  </p>
                </article>
              ))}
          </div>
        </section>
      ))}
    </section>
  );
}
