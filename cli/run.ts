/** `evalap run <file>`: upload what is missing, launch, follow, report, gate. */
import type { ParsedFrame } from '../core/dataframe.js';
import type { ApiClient } from './client.js';
import { readDatasetFile } from './dataset-file.js';
import { CliError, ExitCode } from './errors.js';
import { Progress, type ExperimentProgress } from './progress.js';
import { checkGates, exportResults, resultRows, table, whyRowsFailed, type Gate } from './report.js';
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

/** Creates a dataset from parsed rows, in chunks: the first with the metadata, the rest appended. Returns its id. */
export async function uploadDataset(api: ApiClient, meta: Omit<DatasetRef, 'file'>, frame: ParsedFrame): Promise<number> {
  const created = await api.post('/v1/dataset', { readme: '', ...meta, df: JSON.stringify(frame.rows.slice(0, CHUNK_ROWS)) });
  for (let i = CHUNK_ROWS; i < frame.rows.length; i += CHUNK_ROWS) {
    await api.post(`/v1/dataset/${created.id}/rows`, { df: JSON.stringify(frame.rows.slice(i, i + CHUNK_ROWS)) });
  }
  return created.id;
}

/** Uploads a run file's dataset unless the API already has one of that name. */
async function ensureDataset(api: ApiClient, ref: DatasetRef, say: (l: string) => void): Promise<void> {
  try {
    const existing = await api.get(`/v1/dataset?name=${encodeURIComponent(ref.name)}`);
    say(`dataset ${ref.name}: already on the API (${existing.size} rows), not uploaded again`);
    return;
  } catch (err) {
    if (!(err instanceof CliError) || !/\(404\)/.test(err.message)) throw err;
  }
  const { file, ...meta } = ref;
  const frame = await readDatasetFile(file);
  await uploadDataset(api, meta, frame);
  say(`dataset ${ref.name}: uploaded ${frame.rows.length} rows from ${file}`);
}

const terminal = (s: string) => s === 'finished' || s === 'stopped';

/**
 * Creates the run's set. Its name carries the second it started: a second run
 * of the same file in that second (two CI jobs, a quick retry) takes the name
 * with -2, -3... rather than fail on the taken one.
 */
async function launchSet(api: ApiClient, body: Record<string, any>): Promise<any> {
  for (let n = 1; ; n++) {
    try {
      return await api.post('/v1/experiment_set', n === 1 ? body : { ...body, name: `${body.name}-${n}` });
    } catch (err) {
      if (!(err instanceof CliError && err.status === 409 && n < 10)) throw err;
    }
  }
}

export async function run(api: ApiClient, file: string, o: RunOptions): Promise<number> {
  const spec = loadRunFile(file, o.env);
  for (const ref of spec.datasets) await ensureDataset(api, ref, o.say);
  const set = await launchSet(api, spec.body);
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
  const failing = full.filter((e) => e.num_try > e.num_success || rows.some((r) => r.experiment_id === e.id && r.failures > 0));
  if (failing.length) {
    const reports = await Promise.all(failing.map((e) => api.get(`/v1/experiment/${e.id}/failures`)));
    o.out.write('\n' + whyRowsFailed(failing, reports) + '\n');
  }
  const problems = checkGates(rows, o.gates, o.maxFailures, answerFailures);
  for (const f of o.outputs) {
    exportResults(f, rows, problems, set.name);
    o.say(`wrote ${f}`);
  }
  for (const p of problems) o.say(`FAILED ${p}`);
  // Every answer failed: the scores measure nothing, whatever the gates say.
  const unanswered = full.filter((e) => e.num_total > 0 && e.num_success === 0 && !e.model?.has_raw_output);
  for (const e of unanswered) o.say(`FAILED ${e.name}: none of its ${e.num_total} rows was answered (see why above)`);
  if (unanswered.length || experiments.some((e) => e.experiment_status === 'stopped')) return ExitCode.failed;
  return problems.length ? ExitCode.gateFailed : ExitCode.ok;
}
