/**
 * `npm run bench` (last): how fast the work of a SIGKILLed runner resumes,
 * and what the heartbeat that makes it fast costs in SQS requests.
 *
 * Recovery: a run of the runner's default settings (visibility timeout and
 * heartbeat included) against a stub model answering in 300 ms; once 100
 * rows are answered the runner is SIGKILLed and a new one started at once.
 * The figure is the time from the kill until every row the killed runner had
 * already sent to the model is answered: those messages were invisible, and
 * come back only when their visibility lapses. Target: 30 s. Repeated
 * ROUNDS times; the worst counts.
 *
 * Heartbeat cost: a runner holding a full set of messages (slow model) for
 * HOLD_SEC; its ChangeMessageVisibilityBatch requests, counted by a proxy,
 * scaled to an hour and priced at SQS's $0.40 per million requests.
 *
 * A private stack (embedded PostgreSQL with fsync off + fauxqs) in a temp
 * folder. Exits 0 even when the target is missed (a benchmark reports), 1 on
 * an error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config.js';
import { startModelServer, type StubModelServer } from './stub-model.js';
import type { CoreContext } from '../core/context.js';
import { BenchError, createDataset, expectStatus, type Api } from './api.js';
import { countingProxy, type CountingProxy } from './sqs-proxy.js';
import { say } from './print.js';
import { runBench } from './stack.js';

const RUNNER_MAIN = fileURLToPath(new URL('../runner/main.js', import.meta.url));
const TARGET_SEC = 30;
const ROUNDS = 3;
const ROWS = 400;
const KILL_AFTER = 100;
const LATENCY_MS = 300;
const SLOTS = 8;
const HOLD_SEC = 30;
/** SQS standard queues: $0.40 per million requests (us-east-1, beyond the free tier). */
const USD_PER_REQUEST = 0.4 / 1e6;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startRunner(env: Record<string, string>): { proc: ChildProcess; exited: Promise<void> } {
  const proc = spawn(process.execPath, [RUNNER_MAIN], {
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { proc, exited: new Promise((resolve) => proc.once('exit', () => resolve())) };
}

async function stopRunner(r: { proc: ChildProcess; exited: Promise<void> }): Promise<void> {
  if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGTERM');
  await r.exited;
}

async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new BenchError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

interface Env {
  api: Api;
  core: CoreContext;
  stub: StubModelServer;
  proxy: CountingProxy;
  runnerEnv: Record<string, string>;
}

async function launch(env: Env, name: string): Promise<number> {
  const res = await env.api.call('POST', '/v1/experiment', { name, dataset: 'recovery', model: { name: 'stub-model', base_url: env.stub.url }, metrics: ['exact_match'] });
  expectStatus('POST /v1/experiment', res);
  return res.body.id;
}

const answered = async (core: CoreContext, id: number): Promise<Set<number>> =>
  new Set((await core.db.query<{ num_line: number }>('SELECT num_line FROM answer WHERE experiment_id = $1', [id])).rows.map((r) => r.num_line));

const lineOf = (body: any): number => Number(String(body.messages.at(-1).content).replace('question ', ''));

/** One kill: seconds from the SIGKILL until every row the killed runner had sent to the model is answered. */
async function recoveryRound(env: Env, round: number): Promise<number> {
  env.stub.reset();
  let runner = startRunner(env.runnerEnv);
  const id = await launch(env, `recovery-${round}`);
  await waitFor(`${KILL_AFTER} answers`, 120_000, async () => ((await answered(env.core, id)).size >= KILL_AFTER ? true : undefined));
  runner.proc.kill('SIGKILL');
  const killedAt = Date.now();
  await runner.exited;
  const done = await answered(env.core, id);
  const inFlight = [...new Set(env.stub.requests.map((r) => lineOf(r.body)))].filter((l) => !done.has(l));
  runner = startRunner(env.runnerEnv);
  try {
    const seconds = await waitFor('the killed runner\'s rows', 180_000, async () => {
      const now = await answered(env.core, id);
      return inFlight.every((l) => now.has(l)) ? (Date.now() - killedAt) / 1000 : undefined;
    });
    await waitFor('the run to finish', 180_000, async () => ((await answered(env.core, id)).size === ROWS ? true : undefined));
    say(`  round ${round}: ${inFlight.length} rows were with the model at the kill; all answered ${seconds.toFixed(1)} s after it`);
    return seconds;
  } finally {
    await stopRunner(runner);
  }
}

/** ChangeMessageVisibilityBatch requests per hour of a runner holding a full set of messages. */
async function heartbeatCost(env: Env): Promise<{ perHour: number; held: number }> {
  env.stub.setBehaviour({ latencyMs: (HOLD_SEC + 30) * 1000 });
  const runner = startRunner(env.runnerEnv);
  try {
    await launch(env, 'heartbeat');
    // Let it receive and settle into holding, then count a clean window.
    await sleep(5000);
    const before = env.proxy.calls.get('ChangeMessageVisibilityBatch') ?? 0;
    await sleep(HOLD_SEC * 1000);
    const calls = (env.proxy.calls.get('ChangeMessageVisibilityBatch') ?? 0) - before;
    const held = Math.min(ROWS, SLOTS + Math.max(20, Math.ceil(SLOTS / 4)));
    return { perHour: (calls * 3600) / HOLD_SEC, held };
  } finally {
    runner.proc.kill('SIGKILL');
    await runner.exited;
  }
}

runBench({ name: 'recovery', db: 'pool' }, async (bench) => {
  let stub: StubModelServer | undefined;
  let proxy: CountingProxy | undefined;
  try {
    stub = await startModelServer({ latencyMs: LATENCY_MS });
    proxy = await countingProxy(bench.stack.sqsEndpoint!);
    await createDataset(bench.api, 'recovery', ROWS, (i) => ({ query: `question ${i}`, output_true: `answer to: question ${i}` }));
    // The runner's defaults for everything measured: visibility timeout, heartbeat, poll wait.
    const env: Env = { api: bench.api, core: bench.core, stub, proxy, runnerEnv: { ...bench.runnerEnv(proxy.url), MAX_CONCURRENT_TASKS: String(SLOTS) } };
    const defaults = loadConfig({});
    say(`recovery after SIGKILL (visibility ${defaults.RUNNER_VISIBILITY_TIMEOUT_SEC} s, heartbeat every ${defaults.RUNNER_HEARTBEAT_INTERVAL_MS / 1000} s, ${ROWS} rows, model ${LATENCY_MS} ms, ${SLOTS} slots):`);
    const rounds: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) rounds.push(await recoveryRound(env, round));
    const worst = Math.max(...rounds);
    say(`recovery: worst ${worst.toFixed(1)} s over ${ROUNDS} kills, target ${TARGET_SEC} s: ratio ${(worst / TARGET_SEC).toFixed(2)} ${worst <= TARGET_SEC ? '(met)' : '(MISSED)'}`);
    const { perHour, held } = await heartbeatCost(env);
    say(
      `heartbeat: ${Math.round(perHour).toLocaleString('en')} ChangeMessageVisibilityBatch requests per hour with ${held} messages held ` +
        `= $${(perHour * USD_PER_REQUEST).toFixed(5)}/hour, $${(perHour * USD_PER_REQUEST * 730).toFixed(2)} per runner-month busy`,
    );
  } finally {
    await stub?.close().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
  }
});
