/**
 * Charts: per metric, the variants' means as bars with their 95% CI (or ± std
 * for repeats) as whiskers, on the metric's own scale (GET /v1/metrics'
 * score_range); and each metric's score distribution per variant, from the
 * rows (the first rows of a large experiment: the chart says how many).
 */
import { useEffect, useState } from 'preact/hooks';
import { firstRows } from '../rows-pages';
import { ChartCanvas, PALETTE } from '../components/chart';
import { Empty } from '../components/feedback';
import { cellOf, metricInfo, metricsOf } from '../stats';
import type { RowsPage } from '../types';
import type { Variant } from '../variant-labels';
import type { SetData } from './set';

/** Rows read per experiment for the distributions. */
const DISTRIBUTION_ROWS = 1000;
const BINS = 10;

function useScores(variants: Variant[]) {
  const [scores, setScores] = useState<Map<number, { rows: RowsPage['rows']; total: number }>>(new Map());
  const ids = variants.flatMap((v) => v.experiments.map((e) => e.id));
  useEffect(() => {
    let gone = false;
    Promise.all(
      ids.map(async (id) => [id, await firstRows(id, DISTRIBUTION_ROWS)] as const),
    ).then(
      (all) => !gone && setScores(new Map(all)),
      () => undefined,
    );
    return () => {
      gone = true;
    };
  }, [ids.join(',')]);
  return scores;
}

export function ChartsTab({ data, variants }: { data: SetData; variants: Variant[] }) {
  const metrics = metricsOf(data.experiments);
  const scores = useScores(variants);
  if (metrics.length === 0) return <Empty>No scores yet.</Empty>;
  return (
    <div class="charts">
      {metrics.map((r) => {
        const m = r.metric_aliased_name;
        const info = metricInfo(data.metrics, r.metric_name);
        const cells = variants.map((v) => cellOf(v.experiments, m, info?.score_range));
        const [lo, hi] = info?.score_range ?? [null, null];
        const values = variants.flatMap((v) => v.experiments.flatMap((e) => (scores.get(e.id)?.rows ?? []).map((row) => row.observations[m]?.score).filter((s): s is number => typeof s === 'number')));
        const min = lo ?? Math.min(...values, ...cells.map((c) => c?.low ?? Infinity));
        const max = hi ?? Math.max(...values, ...cells.map((c) => c?.high ?? -Infinity));
        const width = (max - min) / BINS || 1;
        const binLabels = Array.from({ length: BINS }, (_, i) => `${+(min + i * width).toFixed(2)}–${+(min + (i + 1) * width).toFixed(2)}`);
        const read = variants.flatMap((v) => v.experiments.map((e) => scores.get(e.id))).filter(Boolean);
        const partial = read.some((s) => s!.rows.length < s!.total);
        return (
          <section key={m} class="chart-pair" aria-label={`Charts of ${m}`}>
            <h2>{m}</h2>
            <ChartCanvas
              label={`Mean ${m} per variant with 95% confidence intervals`}
              config={{
                type: 'barWithErrorBars',
                data: {
                  labels: variants.map((v) => v.label),
                  datasets: [
                    {
                      label: `mean ${m}`,
                      data: cells.map((c) => ({ y: c?.mean ?? null, yMin: c?.low ?? c?.mean ?? null, yMax: c?.high ?? c?.mean ?? null })),
                      backgroundColor: variants.map((_, i) => PALETTE[i % PALETTE.length]),
                    },
                  ],
                },
                options: { plugins: { legend: { display: false } }, scales: { y: { min: lo ?? undefined, max: hi ?? undefined, title: { display: true, text: m } } } },
              }}
            />
            <ChartCanvas
              label={`Distribution of ${m} scores per variant`}
              config={{
                type: 'bar',
                data: {
                  labels: binLabels,
                  datasets: variants.map((v, i) => {
                    const counts = new Array(BINS).fill(0);
                    for (const e of v.experiments)
                      for (const row of scores.get(e.id)?.rows ?? []) {
                        const s = row.observations[m]?.score;
                        if (typeof s === 'number') counts[Math.min(BINS - 1, Math.max(0, Math.floor((s - min) / width)))]++;
                      }
                    return { label: v.label, data: counts, backgroundColor: PALETTE[i % PALETTE.length] };
                  }),
                },
                options: { scales: { y: { title: { display: true, text: 'rows' }, beginAtZero: true }, x: { title: { display: true, text: `${m} score` } } } },
              }}
            />
            {partial && <p class="muted small">Distributions from the first {DISTRIBUTION_ROWS.toLocaleString('en')} rows of each experiment.</p>}
          </section>
        );
      })}
    </div>
  );
}
