/** `evalap run <file>`: upload what is missing, launch, follow, report, gate. */
import type { ParsedFrame } from '../core/dataframe.js';
import type { ApiClient } from './client.js';
import { readDatasetFile } from './dataset-file.js';
import { CliError, ExitCode } from './errors.js';
import { Progress, type ExperimentProgress } from './progress.js';
import { checkGates, exportResults, resultRows, table, type Gate } from './report.js';
import { loadRunFile, type DatasetRef } from './spec.js';

export interface RunOptions {
  outputs: string[];
  gates: Gate[];
  maxFailures?: number;
  env: NodeJS.ProcessEnv;
  out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  say: (line: string) => void;
  /** Resolves when the user interrupts (Ctrl-C). */
  interrupted: Promise<void>;
  pollMs?: number;
}

/** Rows per upload request: well below the API's 6 MB body limit for typical rows. */
const CHUNK_ROWS = 5000;

async function upload(api: ApiClient, ref: DatasetRef, say: (l: string) => void): Promise<void> {
  try {
    const existing = await api.get(`/v1/dataset?name=${encodeURIComponent(ref.name)}`);
    say(`dataset ${ref.name}: already on the API (${existing.size} rows), not uploaded again`);
    return;
  } catch (err) {
    if (!(err instanceof CliError) || !/\(404\)/.test(err.message)) throw err;
  }
  const frame: ParsedFrame = await readDatasetFile(ref.file);
  const chunks = Math.ceil(frame.rows.length / CHUNK_ROWS);
  const { file, name, ...meta } = ref;
  const created = await api.post('/v1/dataset', { name, readme: meta.readme ?? '', ...meta, df: JSON.stringify(frame.rows.slice(0, CHUNK_ROWS)) });
  for (let i = 1; i < chunks; i++) {
    await api.post(`/v1/dataset/${created.id}/rows`, { df: JSON.stringify(frame.rows.slice(i * CHUNK_ROWS, (i + 1) * CHUNK_ROWS)) });
  }
  say(`dataset ${name}: uploaded ${frame.rows.length} rows from ${file}`);
}

const terminal = (s: string) => s === 'finished' || s === 'stopped';

export async function run(api: ApiClient, file: string, o: RunOptions): Promise<number> {
  const spec = loadRunFile(file, o.env);
  for (const ref of spec.datasets) await upload(api, ref, o.say);
  const set = await api.post('/v1/experiment_set', spec.body);
  o.say(`launched experiment set ${set.id} (${set.name}) with ${set.experiments.length} experiment(s); Ctrl-C stops it`);

  let interrupted = false;
  void o.interrupted.then(() => (interrupted = true));
  const progress = new Progress(o.out);
  let experiments: ExperimentProgress[] = set.experiments;
  for (;;) {
    if (interrupted) {
      await api.post(`/v1/stop/experiment_set/${set.id}`);
      o.say(`stopped experiment set ${set.id}`);
      return ExitCode.interrupted;
    }
    experiments = (await api.get(`/v1/experiment_set/${set.id}`)).experiments;
    const done = experiments.every((e) => terminal(e.experiment_status));
    progress.update(experiments, done);
    if (done) break;
    await Promise.race([new Promise((r) => setTimeout(r, o.pollMs ?? 500)), o.interrupted]);
  }

  const full = await Promise.all(experiments.map((e) => api.get(`/v1/experiment/${e.id}?with_results=true`)));
  const rows = resultRows(full);
  const answerFailures = full.reduce((n, e) => n + (e.num_try - e.num_success), 0);
  o.out.write('\n' + table(rows) + '\n');
  const problems = checkGates(rows, o.gates, o.maxFailures, answerFailures);
  for (const f of o.outputs) {
    exportResults(f, rows, problems, set.name);
    o.say(`wrote ${f}`);
  }
  for (const p of problems) o.say(`FAILED ${p}`);
  if (experiments.some((e) => e.experiment_status === 'stopped')) return ExitCode.failed;
  return problems.length ? ExitCode.gateFailed : ExitCode.ok;
}
