/**
 * The `evalap` command's sub-commands, their arguments and options, parsed
 * by commander. Each action returns its exit code (see ExitCode) through
 * `done`; errors are thrown as CliError and reported by main.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../core/config.js';
import { projectRoot } from '../local/paths.js';
import { compare } from './compare.js';
import { connect, type Connection } from './connect.js';
import { readDatasetFile } from './dataset-file.js';
import { ensureDataset } from './dataset-sync.js';
import { CliError, ExitCode } from './errors.js';
import { impactRows, impactTable } from './impacts.js';
import { leaderboard } from './leaderboard.js';
import { parseGate, resultRows, table } from './report.js';
import { prepareRun, run } from './run.js';
import { serve } from './serve.js';
import { experimentStatus, setStatus, statusText } from './status.js';
import { view } from './view.js';

const say = (line: string) => process.stderr.write(line + '\n');

const NOTES = `
Without --api (or EVALAP_API_URL; key in EVALAP_API_KEY): a local API on PORT if one answers,
else the embedded stack, started for the command.
Exit codes: 0 ok, 1 a gate failed, 2 bad usage or input, 3 the API or the run failed, 130 interrupted.`;

const RUN_NOTES = `
Run files are the API's own experiment or experiment-set body in YAML or JSON; a dataset may be
{name, path} to upload a CSV, JSONL, JSON or Parquet file when the API does not have it yet. When
the API has a dataset of that name with other rows, the run stops and says so: --replace deletes
and uploads it again (refused while experiments use it), or give the changed file a new name.
Outputs: .json (results, gates and every row), .jsonl and .csv (one record per row and metric),
.xml (JUnit: a testcase per metric and per row and metric), .html (self-contained report).`;

const id = (v: string) => {
  if (!/^\d+$/.test(v)) throw new CliError(`expected a numeric id, got ${JSON.stringify(v)}`, ExitCode.usage);
  return v;
};

const repeatable = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

const version = (): string => JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')).version;

/** Runs `fn` against the API the command talks to (started for it if need be), with Ctrl-C as `interrupted`. */
async function withApi(cmd: Command, fn: (conn: Connection, interrupted: Promise<void>) => Promise<number>): Promise<number> {
  const config = loadConfig();
  // `view` keeps the stack it starts: on the PORT a user expects, not a random one.
  const conn = await connect(config, cmd.optsWithGlobals().api, process.env, say, cmd.name() === 'view' ? config.PORT : 0);
  let interrupt!: () => void;
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  const onSigint = () => interrupt();
  process.on('SIGINT', onSigint);
  try {
    return await fn(conn, interrupted);
  } finally {
    process.off('SIGINT', onSigint);
    await conn.close();
  }
}

/** The program; each action hands its exit code to `done`. */
export function createProgram(done: (code: number) => void): Command {
  const program = new Command('evalap')
    .description('run and follow LLM evaluations')
    .version(version(), '-V, --version', 'the version')
    .helpOption('-h, --help', 'this help')
    .option('--api <url>', 'the API to use (or EVALAP_API_URL)')
    .option('--verbose', 'stack traces on errors')
    .addHelpText('after', NOTES);
  // Commander throws instead of exiting and prints no error: main.ts says it in one line, with our exit code.
  // Sub-commands added with `.command(name)` inherit these settings.
  program
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .helpCommand(false);
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) =>
      done(await fn(...args));

  program
    .command('run')
    .description('launch a run file and follow it to its results')
    .argument('<file>', 'the run file (YAML or JSON)')
    .option('-o, --output <file>', 'write the results: .json, .jsonl, .csv, .xml or .html (repeatable)', repeatable)
    .option('--fail-under <metric=value>', 'a gate: exit 1 when the metric\'s mean is lower (repeatable)', repeatable)
    .option('--max-failures <n>', 'a gate: exit 1 when more rows failed')
    .option('--replace', 'replace the API\'s dataset of the same name when the file differs')
    .addHelpText('after', RUN_NOTES)
    .action(
      act(async (file: string, o: { output?: string[]; failUnder?: string[]; maxFailures?: string; replace?: boolean }, cmd: Command) => {
        const outputs = o.output ?? [];
        const gates = (o.failUnder ?? []).map(parseGate);
        const maxFailures = o.maxFailures === undefined ? undefined : Number(o.maxFailures);
        if (maxFailures !== undefined && !(Number.isInteger(maxFailures) && maxFailures >= 0)) throw new CliError('--max-failures expects a non-negative integer', ExitCode.usage);
        // A typo in an output or a gate is refused before anything starts, not after a long run.
        prepareRun(file, outputs, gates, process.env);
        return withApi(cmd, (conn, interrupted) => run(conn.api, file, { outputs, gates, maxFailures, replace: o.replace, env: process.env, out: process.stdout, say, interrupted }));
      }),
    );

  program
    .command('status')
    .description('an experiment\'s status and counters, or a set\'s (the id `run` prints)')
    .argument('[experiment-id]', 'the experiment (or `set`, followed by a set id)')
    .argument('[set-id]', 'after `set`: the set')
    .option('--set <set-id>', 'the experiment set')
    .action(
      act(async (first: string | undefined, second: string | undefined, o: { set?: string }, cmd: Command) => {
        const setId = o.set ?? (first === 'set' ? second : undefined);
        if (first === 'set' && setId === undefined) throw new CliError('evalap status needs an experiment set id; see evalap status --help', ExitCode.usage);
        if (setId === undefined && first === undefined) throw new CliError('evalap status needs an experiment id (or --set <set-id>); see evalap status --help', ExitCode.usage);
        const target = setId !== undefined ? { set: id(setId) } : { experiment: id(first!) };
        return withApi(cmd, async ({ api }) => {
          if (target.set !== undefined) await setStatus(api, target.set, process.stdout);
          else await experimentStatus(api, target.experiment!, process.stdout);
          return ExitCode.ok;
        });
      }),
    );

  program
    .command('results')
    .description('an experiment\'s results table, with its energy, carbon and cost')
    .argument('<experiment-id>')
    .action(
      act(async (experiment: string, _o: object, cmd: Command) => {
        const e = id(experiment);
        return withApi(cmd, async ({ api }) => {
          const experiment = await api.get(`/v1/experiment/${e}?with_results=true`);
          process.stdout.write(`${table(resultRows([experiment]))}\n\n${impactTable(impactRows([experiment]))}\n`);
          return ExitCode.ok;
        });
      }),
    );

  program
    .command('leaderboard')
    .description('experiments ranked by a metric; without --metric, one ranking per metric')
    .option('--metric <metric>', 'the metric to rank by')
    .option('--dataset <dataset>', 'only experiments on this dataset')
    .action(
      act(async (o: { metric?: string; dataset?: string }, cmd: Command) =>
        withApi(cmd, async ({ api }) => {
          await leaderboard(api, o, process.stdout);
          return ExitCode.ok;
        }),
      ),
    );

  program
    .command('datasets')
    .description('datasets on the API')
    .helpCommand(false)
    .command('push')
    .description('upload a dataset file (CSV, JSONL, JSON or Parquet), as a run\'s datasets are')
    .argument('<file>')
    .option('--name <name>', 'its name (default: the file\'s name without extension)')
    .option('--replace', 'replace the API\'s dataset of the same name when the file differs')
    .action(
      act(async (file: string, o: { name?: string; replace?: boolean }, cmd: Command) => {
        const frame = await readDatasetFile(file);
        const name = o.name ?? path.basename(file).replace(/\.[^.]+$/, '');
        return withApi(cmd, async ({ api }) => {
          await ensureDataset(api, { name, file }, async () => frame, { replace: o.replace ?? false, say });
          return ExitCode.ok;
        });
      }),
    );

  for (const verb of ['stop', 'retry'] as const) {
    const command = program
      .command(verb)
      .description(verb === 'stop' ? 'cancel an experiment set, or one experiment' : 're-run what failed or is missing in an experiment set, or one experiment')
      .argument('[set-id]', 'the experiment set')
      .option('--experiment <id>', 'one experiment instead (in a set or not)');
    if (verb === 'retry') command.option('--force', 'also in running experiments');
    command.action(
      act(async (set: string | undefined, o: { experiment?: string; force?: boolean }, cmd: Command) => {
        const force = o.force ? '?force=true' : '';
        if (o.experiment !== undefined) {
          const experiment = id(o.experiment);
          return withApi(cmd, async ({ api }) => {
            const e = await api.post(`/v1/${verb}/experiment/${experiment}${force}`);
            process.stdout.write(`experiment ${e.id}: ${statusText(e)}, answers ${e.num_success}/${e.num_try} of ${e.num_total}\n`);
            return ExitCode.ok;
          });
        }
        if (set === undefined) throw new CliError(`evalap ${verb} needs an experiment set id (or --experiment <id>); see evalap ${verb} --help`, ExitCode.usage);
        const setId = id(set);
        return withApi(cmd, async ({ api }) => {
          const out = await api.post(`/v1/${verb}/experiment_set/${setId}${force}`);
          process.stdout.write(verb === 'stop' ? `experiment set ${out.id}: ${out.status}\n` : `experiment set ${out.experiment_set_id}: ${out.reopened_experiment_ids.length} experiment(s) re-run\n`);
          return ExitCode.ok;
        });
      }),
    );
  }

  program
    .command('compare')
    .description('per model and metric: difference of means (b - a), 95% CI, regressions')
    .argument('<set-a>')
    .argument('<set-b>')
    .action(
      act(async (a: string, b: string, _o: object, cmd: Command) => {
        const [setA, setB] = [id(a), id(b)];
        return withApi(cmd, ({ api }) => compare(api, setA, setB, process.stdout));
      }),
    );

  program.command('serve').description('the whole platform locally (npm start)').action(act(serve));

  program
    .command('view')
    .description('the web UI (starts the embedded stack if no API answers)')
    .action(act(async (_o: object, cmd: Command) => withApi(cmd, (conn, interrupted) => view(conn, { env: process.env, out: process.stdout, say, interrupted }))));

  return program;
}
