/** `evalap run <file>`: upload what is missing, launch, follow, report, gate. */
import { variantLabels } from '../core/variant-labels.js';
import type { ApiClient } from './client.js';
import { readDatasetFile } from './dataset-file.js';
import { ensureDataset } from './dataset-sync.js';
import { CliError, ExitCode } from './errors.js';
import { Progress, type ExperimentProgress } from './progress.js';
import { checkOutputs, exportResults, type MetricInfo } from './exports.js';
import { impactRows, impactTable } from './impacts.js';
import { checkGates, gateResults, resultRows, table, whyRowsFailed, type Gate } from './report.js';
import { fetchRowRecords } from './row-results.js';
import { loadRunFile, runMetricNames, type RunSpec } from './spec.js';
import { statusText } from './status.js';

export interface RunOptions {
  outputs: string[];
  gates: Gate[];
  maxFailures?: number;
  /** Replace a dataset of the same name whose rows differ from the run file's (see dataset-sync.ts). */
  replace?: boolean;
  env: NodeJS.ProcessEnv;
  out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  say: (line: string) => void;
  /** Resolves when the user interrupts (Ctrl-C). */
  interrupted: Promise<void>;
  pollMs?: number;
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

/**
 * Reads the run file and refuses, before anything connects, uploads or
 * launches, outputs and gates the run could not honour.
 */
export function prepareRun(file: string, outputs: string[], gates: Gate[], env: NodeJS.ProcessEnv): RunSpec {
  const spec = loadRunFile(file, env);
  checkOutputs(outputs);
  const metrics = runMetricNames(spec.body);
  for (const g of gates) {
    if (!metrics.has(g.metric)) throw new CliError(`--fail-under ${g.metric}=${g.min}: ${file} has no metric named ${JSON.stringify(g.metric)} (it has: ${[...metrics].join(', ') || 'none'}; a gate names a metric by its aliased_name when it has one)`, ExitCode.usage);
  }
  return spec;
}

export async function run(api: ApiClient, file: string, o: RunOptions): Promise<number> {
  const spec = prepareRun(file, o.outputs, o.gates, o.env);
  for (const ref of spec.datasets) await ensureDataset(api, ref, () => readDatasetFile(ref.file), { replace: o.replace ?? false, say: o.say });
  const set = await launchSet(api, spec.body);
  o.say(`launched experiment set ${set.id} (${set.name}) with ${set.experiments.length} experiment(s); Ctrl-C stops it; evalap status --set ${set.id} shows it`);

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
  const labels = variantLabels(full);
  const rows = resultRows(full, labels);
  const impacts = impactRows(full, labels);
  const answerFailures = full.reduce((n, e) => n + (e.num_try - e.num_success), 0);
  o.out.write('\n' + table(rows) + '\n');
  o.out.write('\n' + impactTable(impacts) + '\n');
  const failing = full.filter((e) => e.num_try > e.num_success || rows.some((r) => r.experiment_id === e.id && r.failures > 0));
  if (failing.length) {
    const reports = await Promise.all(failing.map((e) => api.get(`/v1/experiment/${e.id}/failures`)));
    const labelled = failing.map((e) => ({ id: e.id, name: labels[full.indexOf(e)] }));
    o.out.write('\n' + whyRowsFailed(labelled, reports) + '\n');
  }
  const problems = checkGates(rows, o.gates, o.maxFailures, answerFailures);
  if (o.outputs.length) {
    const [records, metricList] = await Promise.all([fetchRowRecords(api, full, labels), api.get<MetricInfo[]>('/v1/metrics')]);
    const metricNames = new Map<string, string>(full.flatMap((e) => (e.results ?? []).map((r: any) => [r.metric_aliased_name, r.metric_name] as [string, string])));
    const report = { setName: set.name, results: rows, impacts, rows: records, gates: gateResults(rows, o.gates), problems, metrics: new Map(metricList.map((m) => [m.name, m])), metricNames };
    for (const f of o.outputs) {
      exportResults(f, report);
      o.say(`wrote ${f}`);
    }
  }
  for (const p of problems) o.say(`FAILED ${p}`);
  // Every answer failed: the scores measure nothing, whatever the gates say.
  const unanswered = full.filter((e) => e.num_total > 0 && e.num_success === 0 && !e.model?.has_raw_output);
  for (const e of unanswered) o.say(`FAILED ${e.name}: none of its ${e.num_total} rows was answered (see why above)`);
  for (const [i, e] of full.entries()) if (e.experiment_status === 'stopped') o.say(`FAILED ${labels[i]}: ${statusText(e)}`);
  if (unanswered.length || experiments.some((e) => e.experiment_status === 'stopped')) return ExitCode.failed;
  return problems.length ? ExitCode.gateFailed : ExitCode.ok;
}
