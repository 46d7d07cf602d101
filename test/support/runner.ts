/**
 * Starts the built runner (dist/runner/main.js) as its own process, the way
 * the container's CMD does, against a test's database and queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { expect } from '@jest/globals';
import { startApi, tally, type TestApi } from './api.js';
import { startModelServer, type StubModelServer } from './model-server.js';

const MAIN = path.resolve('dist/runner/main.js');

export interface RunningRunner {
  proc: ChildProcess;
  /** Parsed JSON log lines, in order. */
  logs: Record<string, any>[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the first log line matching. */
  waitForLog(event: string, timeoutMs?: number): Promise<Record<string, any>>;
}

/** How to start it: the built dist/runner/main.js by default, or another build of it (the image test's). */
export interface RunnerCommand {
  argv: string[];
  cwd?: string;
}

export function startRunner(api: TestApi, env: Record<string, string | undefined> = {}, command: RunnerCommand = { argv: [process.execPath, MAIN] }): RunningRunner {
  const proc = spawn(command.argv[0], command.argv.slice(1), {
    cwd: command.cwd,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: api.databaseUrl,
      QUEUE_URL: api.queueUrl,
      SQS_ENDPOINT: api.sqsEndpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      EVALAP_DATA_DIR: process.env.EVALAP_DATA_DIR,
      LOG_LEVEL: 'info',
      RUNNER_POLL_WAIT_SEC: '1',
      RUNNER_STATS_INTERVAL_MS: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, any>[] = [];
  const stderr: string[] = [];
  const waiters: { event: string; resolve: (l: Record<string, any>) => void }[] = [];
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line);
      logs.push(entry);
      for (const w of waiters.filter((w) => w.event === entry.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    } catch {
      stderr.push(line);
    }
  });
  readline.createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    logs,
    stderr,
    exited,
    kill: (signal = 'SIGTERM') => void proc.kill(signal),
    waitForLog(event, timeoutMs = 20_000) {
      const seen = logs.find((l) => l.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} log within ${timeoutMs} ms; stderr: ${stderr.join('\n')}`)), timeoutMs);
        waiters.push({ event, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}

/**
 * Stops the runners a test left running (and empties the list): SIGTERM
 * first, SIGKILL after 10 s. A runner killed outright during a long poll
 * leaves that receive open in the queue server, which then hands it the next
 * test's first messages (invisible until their visibility timeout).
 */
export async function stopRunners(runners: RunningRunner[]): Promise<void> {
  for (const r of runners.splice(0)) {
    if (r.proc.exitCode !== null || r.proc.signalCode !== null) continue;
    r.kill('SIGTERM');
    const timer = setTimeout(() => r.kill('SIGKILL'), 10_000);
    await r.exited;
    clearTimeout(timer);
  }
}

/** Polls `fn` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitUntil<T>(fn: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The stub as the custom judge endpoint, serving any judge name (as it
 * does: it answers for whatever model is asked), so the tests whose subject
 * is not judge resolution may name their judge as they like.
 */
export const stubJudgeEnv = (model: StubModelServer): Record<string, string> => ({ EVALAP_JUDGE_BASE_URL: model.url, EVALAP_JUDGE_MODELS: '*' });

/** The judge provider variables among `env` (core/judges/providers.ts). */
function judgeVariables(env: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('EVALAP_JUDGE_') || /^(OPENAI|MISTRAL|ANTHROPIC|ALBERT|SCALEWAY)_(API_KEY|BASE_URL)$/.test(k)));
}

/** What runnerFixtures() gives a test file; `api` and `model` are set once its beforeAll has run. */
export interface RunnerFixtures {
  api: TestApi;
  model: StubModelServer;
  /** Starts a runner against `api`; it is stopped after the test, passed or failed. */
  runner(env?: Record<string, string>): RunningRunner;
}

/**
 * Registers the jest hooks a runner test file needs: an API on a fresh
 * database and queue and a stub model server for the whole file; after each
 * test, its runners stopped (a failed test must not leave one working on the
 * next test's queue) and the model's behaviour and requests reset. Call it at
 * the top level of the file.
 */
export function runnerFixtures(options: { apiEnv?: Record<string, string>; runnerEnv?: Record<string, string> } = {}): RunnerFixtures {
  const runners: RunningRunner[] = [];
  const fixtures = {
    runner(env: Record<string, string> = {}) {
      const r = startRunner(fixtures.api, { ...stubJudgeEnv(fixtures.model), ...options.runnerEnv, ...env });
      runners.push(r);
      return r;
    },
  } as RunnerFixtures;
  beforeAll(async () => {
    fixtures.model = await startModelServer();
    // The API resolves judge names at launch, so it is given the judge providers the runner is given.
    fixtures.api = await startApi({ ...stubJudgeEnv(fixtures.model), ...judgeVariables(options.runnerEnv), ...options.apiEnv });
  });
  afterAll(async () => {
    await fixtures.model?.close();
    await fixtures.api?.close();
  });
  afterEach(async () => {
    await stopRunners(runners);
    fixtures.model.setBehaviour({});
    fixtures.model.reset();
  });
  return fixtures;
}

/**
 * Waits for experiment `id` to finish, then checks that it is exact: each of
 * its `rows` answered once and successfully, every result finished and scored
 * on every row, every counter and aggregate equal to what its rows give. What
 * a run must end with, whatever crashed or went away on its way.
 */
export async function expectExactRun(api: TestApi, id: number, rows: number, timeoutMs: number): Promise<void> {
  const exp = await terminal(api, id, timeoutMs);
  expect(exp).toMatchObject({ experiment_status: 'finished', num_try: rows, num_success: rows });
  const answers = await api.pool.query(
    'SELECT count(*)::int AS n, count(DISTINCT num_line)::int AS lines, min(num_line) AS first, max(num_line) AS last FROM answer WHERE experiment_id = $1 AND error_msg IS NULL',
    [id],
  );
  expect(answers.rows[0]).toEqual({ n: rows, lines: rows, first: 0, last: rows - 1 });
  for (const result of exp.results) expect(result).toMatchObject({ metric_status: 'finished', num_try: rows, num_success: rows });
  const { stored, fromRows } = await tally(api.pool, id);
  expect(stored).toEqual(fromRows);
  for (const result of stored.results) expect(result.score_count).toBe(rows);
}

/** A runner's last log lines and stderr, for the message of a wait that timed out. */
export function lastLines(r: RunningRunner, n = 10): string {
  return [...r.logs.slice(-n).map((l) => JSON.stringify(l)), ...r.stderr.slice(-n)].join('\n');
}

/** Experiment `id` (with its results) once it is finished or stopped. */
export function terminal(api: TestApi, id: number, timeoutMs = 30_000): Promise<any> {
  return waitUntil(async () => {
    const res = await api.call('GET', `/v1/experiment/${id}?with_results=true`);
    return res.status === 200 && ['finished', 'stopped'].includes(res.body.experiment_status) ? res.body : undefined;
  }, timeoutMs, `experiment ${id} to finish or stop`);
}
