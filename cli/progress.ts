/**
 * Live progress of a run: a bar per experiment (answers and observations
 * done, failures, rate, time left). On a terminal the bars redraw in place;
 * elsewhere (CI logs) a line per experiment is printed when it changes, at
 * most every few seconds. Experiments are labelled by what tells them apart
 * (core/variant-labels.ts), fitted to one column without two reading the same.
 */
import type { z } from 'zod';
import type { Experiment } from '../core/schemas.js';
import { fitLabels, variantLabels, type VariantSource } from '../core/variant-labels.js';
import { statusText } from './status.js';

/** What a bar shows of an experiment, as the API returns it (core/schemas.ts). */
export type ExperimentProgress = VariantSource &
  Pick<z.infer<typeof Experiment>, 'id' | 'name' | 'num_total' | 'num_try' | 'num_success' | 'num_observation_try' | 'num_observation_success' | 'num_metrics'> & {
    experiment_status: string;
    stop_reason?: string | null;
  };

const WIDTH = 24;
/** Widest label column: longer labels are fitted (cut in the middle). */
const LABEL_WIDTH = 32;

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export class Progress {
  private drawn = 0;
  private lastPrint = 0;
  private lastLines = new Map<number, string>();
  private readonly started = Date.now();
  private readonly firstDone = new Map<number, number>();

  constructor(
    private readonly out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean },
    private readonly now = Date.now,
  ) {}

  line(e: ExperimentProgress, label = e.name): string {
    const total = e.num_total * (1 + e.num_metrics);
    const done = e.num_try + e.num_observation_try;
    const failed = e.num_try - e.num_success + (e.num_observation_try - e.num_observation_success);
    const frac = total ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * WIDTH);
    const elapsed = (this.now() - this.started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const left = rate > 0 ? (total - done) / rate : Infinity;
    const status = ['finished', 'stopped'].includes(e.experiment_status) ? statusText(e) : `${clock(left)} left`;
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%  answers ${e.num_try}/${e.num_total}  observations ${e.num_observation_try}/${e.num_total * e.num_metrics}  failed ${failed}  ${rate.toFixed(1)}/s  ${status}`;
  }

  update(experiments: ExperimentProgress[], final = false): void {
    const labels = variantLabels(experiments);
    const fitted = fitLabels(labels, Math.min(LABEL_WIDTH, Math.max(...labels.map((l) => l.length))));
    const width = Math.max(...fitted.map((l) => l.length));
    const lines = experiments.map((e, i) => this.line(e, fitted[i].padEnd(width)));
    if (this.out.isTTY) {
      // Move up over the previous bars and redraw them.
      const up = this.drawn ? `\x1b[${this.drawn}A` : '';
      this.out.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(''));
      this.drawn = lines.length;
      return;
    }
    if (!final && this.now() - this.lastPrint < 3000) return;
    this.lastPrint = this.now();
    experiments.forEach((e, i) => {
      const key = `${e.num_try}/${e.num_observation_try}/${e.experiment_status}`;
      if (this.lastLines.get(e.id) !== key) this.out.write(lines[i] + '\n');
      this.lastLines.set(e.id, key);
    });
  }
}
