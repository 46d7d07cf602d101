/**
 * The `evalap` command. Errors are one line (the stack trace only with
 * --verbose); the exit code says how the command ended (see ExitCode).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { projectRoot } from '../local/paths.js';
import { connect } from './connect.js';
import { readDatasetFile } from './dataset-file.js';
import { CliError, ExitCode } from './errors.js';
import { compare } from './compare.js';
import { ensureDataset } from './dataset-sync.js';
import { leaderboard } from './leaderboard.js';
import { parseGate, resultRows, table } from './report.js';
import { prepareRun, run } from './run.js';
import { experimentStatus, setStatus } from './status.js';
import { view } from './view.js';

const HELP = `evalap — run and follow LLM evaluations

Usage:
  evalap run <file> [--output results.json|.jsonl|.csv|.xml|.html]... [--fail-under metric=value]... [--max-failures N] [--replace]
  evalap status <experiment-id>        an experiment's status and counters
  evalap status --set <set-id>         a set's (the id \`run\` prints), each experiment's too
  evalap results <experiment-id>       its results table
  evalap leaderboard [--metric M] [--dataset D]   ranked by M; without --metric, one ranking per metric
  evalap datasets push <file> [--name N] [--replace]
  evalap stop <set-id>                 cancel an experiment set
  evalap retry <set-id> [--force]      re-run what failed or is missing (--force: also in running experiments)
  evalap stop --experiment <id>        the same for one experiment (in a set or not)
  evalap retry --experiment <id>
  evalap compare <set-a> <set-b>       per model and metric: difference of means (b - a), 95% CI, regressions
  evalap serve                         the whole platform locally (npm start)
  evalap view                          the web UI (starts the embedded stack if no API answers)

Options:
  --api URL      the API to use (or EVALAP_API_URL; key in EVALAP_API_KEY). Without it: a local API
                 on PORT if one answers, else the embedded stack, started for the command.
  --verbose      stack traces on errors
  -h, --help     this help

Run files are the API's own experiment or experiment-set body in YAML or JSON; a dataset may be
{name, path} to upload a CSV, JSONL, JSON or Parquet file when the API does not have it yet. When
the API has a dataset of that name with other rows, the run stops and says so: --replace deletes
and uploads it again (refused while experiments use it), or give the changed file a new name.
Outputs: .json (results, gates and every row), .jsonl and .csv (one record per row and metric),
.xml (JUnit: a testcase per metric and per row and metric), .html (self-contained report).
Exit codes: 0 ok, 1 a gate failed, 2 bad usage or input, 3 the API or the run failed, 130 interrupted.`;

const say = (line: string) => process.stderr.write(line + '\n');

/**
 * `evalap serve`: the platform (local/main.ts) as a child in its own process
 * group, each signal we get passed on once. In the terminal's group, a Ctrl-C
 * would reach it twice (from the terminal and from us), and its second signal
 * means "force the exit", skipping PostgreSQL's stop.
 */
function serve(): Promise<number> {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'local', 'main.js')], { stdio: 'inherit', detached: true });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward(signal));
  // When `tee` (or whatever reads our output) dies, the child gets EPIPE on its own writes and stops; we write nothing more.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.failed))));
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      output: { type: 'string', multiple: true, short: 'o' },
      'fail-under': { type: 'string', multiple: true },
      'max-failures': { type: 'string' },
      metric: { type: 'string' },
      dataset: { type: 'string' },
      name: { type: 'string' },
      verbose: { type: 'boolean' },
      experiment: { type: 'string' },
      force: { type: 'boolean' },
      replace: { type: 'boolean' },
      set: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP + '\n');
    return command || values.help ? ExitCode.ok : ExitCode.usage;
  }
  if (command === 'serve') return serve();
  const need = (n: number, what: string) => {
    if (args.length < n) throw new CliError(`evalap ${command} needs ${what}; see evalap --help`, ExitCode.usage);
  };
  const id = (v: string) => {
    if (!/^\d+$/.test(v)) throw new CliError(`expected a numeric id, got ${JSON.stringify(v)}`, ExitCode.usage);
    return v;
  };
  if (!['run', 'status', 'results', 'leaderboard', 'datasets', 'stop', 'retry', 'compare', 'view'].includes(command)) {
    throw new CliError(`unknown command ${JSON.stringify(command)}; see evalap --help`, ExitCode.usage);
  }
  if (command === 'run') need(1, 'a run file');
  const gates = (values['fail-under'] ?? []).map(parseGate);
  const maxFailures = values['max-failures'] === undefined ? undefined : Number(values['max-failures']);
  if (maxFailures !== undefined && !(Number.isInteger(maxFailures) && maxFailures >= 0)) throw new CliError('--max-failures expects a non-negative integer', ExitCode.usage);
  // A typo in an output or a gate is refused before anything starts, not after a long run.
  if (command === 'run') prepareRun(args[0], values.output ?? [], gates, process.env);

  const config = loadConfig();
  // `view` keeps the stack it starts: on the PORT a user expects, not a random one.
  const conn = await connect(config, values.api, process.env, say, command === 'view' ? config.PORT : 0);
  let interrupt!: () => void;
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  const onSigint = () => interrupt();
  process.on('SIGINT', onSigint);
  try {
    const api = conn.api;
    switch (command) {
      case 'run':
        return await run(api, args[0], { outputs: values.output ?? [], gates, maxFailures, replace: values.replace, env: process.env, out: process.stdout, say, interrupted });
      case 'status': {
        // `run` prints a set id: `status --set <id>` (or `status set <id>`) takes it.
        if (values.set !== undefined) await setStatus(api, id(values.set), process.stdout);
        else if (args[0] === 'set') {
          need(2, 'an experiment set id');
          await setStatus(api, id(args[1]), process.stdout);
        } else {
          need(1, 'an experiment id (or --set <set-id>)');
          await experimentStatus(api, id(args[0]), process.stdout);
        }
        return ExitCode.ok;
      }
      case 'results': {
        need(1, 'an experiment id');
        const e = await api.get(`/v1/experiment/${id(args[0])}?with_results=true`);
        process.stdout.write(table(resultRows([e])) + '\n');
        return ExitCode.ok;
      }
      case 'view':
        return await view(conn, { env: process.env, out: process.stdout, say, interrupted });
      case 'leaderboard':
        await leaderboard(api, { metric: values.metric, dataset: values.dataset }, process.stdout);
        return ExitCode.ok;
      case 'datasets': {
        if (args[0] !== 'push') throw new CliError('usage: evalap datasets push <file> [--name N]', ExitCode.usage);
        need(2, 'a dataset file');
        const frame = await readDatasetFile(args[1]);
        const name = values.name ?? path.basename(args[1]).replace(/\.[^.]+$/, '');
        await ensureDataset(api, { name, file: args[1] }, async () => frame, { replace: values.replace ?? false, say });
        return ExitCode.ok;
      }
      case 'compare':
        need(2, 'two experiment set ids');
        return await compare(api, id(args[0]), id(args[1]), process.stdout);
      case 'stop':
      case 'retry': {
        const force = command === 'retry' && values.force ? '?force=true' : '';
        if (values.experiment !== undefined) {
          const e = await api.post(`/v1/${command}/experiment/${id(values.experiment)}${force}`);
          process.stdout.write(`experiment ${e.id}: ${e.experiment_status}, answers ${e.num_success}/${e.num_try} of ${e.num_total}\n`);
          return ExitCode.ok;
        }
        need(1, 'an experiment set id (or --experiment <id>)');
        const out = await api.post(`/v1/${command}/experiment_set/${id(args[0])}${force}`);
        process.stdout.write(command === 'stop' ? `experiment set ${out.id}: ${out.status}\n` : `experiment set ${out.experiment_set_id}: ${out.reopened_experiment_ids.length} experiment(s) re-run\n`);
        return ExitCode.ok;
      }
    }
    return ExitCode.usage;
  } finally {
    process.off('SIGINT', onSigint);
    await conn.close();
  }
}

const verbose = process.argv.includes('--verbose');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError) process.stderr.write(`evalap: ${err.message}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`evalap: configuration error: ${err.message}\n`);
    else if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`evalap: ${(err as Error).message}; see evalap --help\n`);
    else process.stderr.write(`evalap: ${(err as Error)?.message ?? String(err)}\n`);
    if (verbose && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    const code = err instanceof CliError ? err.exitCode : (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') || err instanceof ConfigError ? ExitCode.usage : ExitCode.failed;
    process.exit(code);
  },
);
