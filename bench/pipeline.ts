/**
 * `npm run bench` (after bench/launch): the whole local pipeline, end to end.
 * POST /v1/experiment → SQS → runner (its own process: poller, broker,
 * worker threads, group commit) → PostgreSQL, against a stub
 * OpenAI-compatible model that answers after a fixed latency L. Each row is
 * one answer plus one deterministic metric (exact_match).
 *
 * Wall time runs from the POST /v1/experiment request to the first
 * GET /v1/experiment/{id} (polled every 50 ms) that shows "finished".
 *
 *   node dist/bench/pipeline.js                 every scenario
 *   node dist/bench/pipeline.js c8 l0           some of them
 *   node dist/bench/pipeline.js --verbose c32   also the runner's runner_stats, second by second
 *
 * Diagnostics (not needed for the figures):
 *   --pgstats                  pg_stat_statements + auto_explain (> 5 ms) in the private PostgreSQL:
 *                              top statements of each run and the plan of the slowest
 *   --profile                  V8 CPU profiles of the runner's threads (--cpu-prof), folder printed at the end
 *   --env=NAME=VALUE           extra runner environment (repeatable), e.g. --env=RUNNER_PREFETCH=32
 *   --gc                       the runner runs with --trace-gc: V8 heap live/committed per isolate
 *   --log=FILE                 the runner's log lines also go to FILE (with --env=LOG_LEVEL=debug: every dispatch)
 *   --rss-n=N                  the large N of the rss scenario (default 100,000)
 *   --sqscount                 the runner's SQS calls go through a counting proxy: calls per row by action
 *   --analyze                  ANALYZE after the uploads: the runner's row-state query with fresh statistics
 *   --wait-quiet               before each scenario, wait (≤ 2 min) for other processes to go quiet
 *   idle                       scenario (not in the default list): the runner's CPU while idle
 *   floor                      scenario (not in the default list): a bare node:http client against the
 *                              same stub at c8's and c32's settings: the machine's floor for those ratios
 *
 * Each scenario gets a private stack (embedded PostgreSQL with fsync off +
 * fauxqs) in a temp folder, the real API handler served over HTTP in this
 * process, the stub model in this process, and a fresh runner child process.
 * Exits 0 even when targets are missed (a benchmark reports), 1 on an error.
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Core } from '../core/context.js';
import type { RunningStack } from '../local/stack.js';
import { startModelServer, type StubBehaviour, type StubModelServer } from '../test/support/model-server.js';
import { BenchError, createDataset, expectStatus, type Api } from './api.js';
import { countingProxy, type CountingProxy } from './sqs-proxy.js';
import { startBenchStack } from './stack.js';

/** A row whose stub answer (`answer to: <query>`) the exact_match metric scores 1. */
const row = (i: number) => ({ query: `question ${i}`, output_true: `answer to: question ${i}` });

const RUNNER_MAIN = fileURLToPath(new URL('../runner/main.js', import.meta.url));
const POLL_MS = 50;
const STATS_INTERVAL_MS = 1000;
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();


// A closed stdout (`… | head`) must not kill the bench before it stops its stack: writes then go nowhere.
let stdoutClosed = false;
process.stdout.on('error', () => (stdoutClosed = true));
const say = (line = '') => void (stdoutClosed || process.stdout.write(line + '\n'));
const VERBOSE = process.argv.includes('--verbose');
const PROFILE_DIR = process.argv.includes('--profile') ? fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-runner-prof-')) : undefined;
/** --env=NAME=VALUE (repeatable): extra runner environment, to try a setting (e.g. --env=RUNNER_PREFETCH=32). */
const EXTRA_ENV = Object.fromEntries(
  process.argv.filter((a) => a.startsWith('--env=')).map((a) => {
    const kv = a.slice('--env='.length);
    return [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)];
  }),
);
/** --gc: the runner runs with --trace-gc; each run prints its isolates' heap after full GCs (leak or not). */
const TRACE_GC = process.argv.includes('--gc');
/** --log=FILE: every line the runner writes goes to FILE too (with --env=LOG_LEVEL=debug: each dispatch, each fan-out chunk). */
const LOG_FILE = process.argv.find((a) => a.startsWith('--log='))?.slice('--log='.length);
/** --rss-n=N: the large size of the rss scenario (default 100,000), for quicker diagnosis. */
const RSS_LARGE = Number(process.argv.find((a) => a.startsWith('--rss-n='))?.slice('--rss-n='.length) ?? 100_000);
/** --wait-quiet: before each scenario, wait (up to 2 min) until the machine is idle, since others may share it. */
const WAIT_QUIET = process.argv.includes('--wait-quiet');
/** --analyze: ANALYZE after the dataset uploads (diagnostic: what the row-state query costs with fresh statistics). */
const ANALYZE = process.argv.includes('--analyze');
/** --sqscount: the runner talks to SQS through a counting proxy; each run prints its SQS calls per row by action. */
const SQS_COUNT = process.argv.includes('--sqscount');
/** --pgstats: pg_stat_statements on, and the top statements of each run printed. */
const PGSTATS = process.argv.includes('--pgstats');
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ------------------------------------------------------------------ the API


// ------------------------------------------------------------- /proc readers

/** utime+stime (+ reaped children's when `children`) of a process, in ms; undefined once it is gone. */
function cpuMs(pid: number, children = false): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return (ticks * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** CPU ms the whole machine has spent busy (all processes, all cores), from /proc/stat. */
function machineBusyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return ((f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * 1000) / CLK_TCK;
}

/** CPU ms of each thread of a process, by thread id, in thread-id (creation) order. */
function threadCpu(pid: number): Map<number, { comm: string; ms: number }> {
  const out = new Map<number, { comm: string; ms: number }>();
  let tids: number[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ms: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK });
    } catch {
      // thread gone
    }
  }
  return out;
}

/**
 * The runner's CPU by thread role: the main thread (tid = pid), the worker
 * threads (the last `workers` threads named "node": they start after the
 * V8 platform and libuv pool threads), ZeroMQ's I/O threads, and the rest
 * (V8 GC/compiler helpers, libuv pool).
 */
function threadBreakdown(pid: number, before: Map<number, { comm: string; ms: number }>, after: Map<number, { comm: string; ms: number }>, workers: number): Record<string, number> {
  const out: Record<string, number> = { main: 0, workers: 0, zmq: 0, other: 0 };
  const nodeTids = [...after].filter(([tid, t]) => tid !== pid && t.comm === 'node').map(([tid]) => tid);
  const workerTids = new Set(nodeTids.slice(-workers));
  for (const [tid, t] of after) {
    const delta = t.ms - (before.get(tid)?.ms ?? 0);
    const role = tid === pid ? 'main' : workerTids.has(tid) ? 'workers' : t.comm.startsWith('ZMQ') ? 'zmq' : 'other';
    out[role] += delta;
  }
  return out;
}

/** System (kernel) CPU ms of a process: loopback TCP sends run the receiving side's stack too. */
function sysMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 1000) / CLK_TCK;
}

/** VmHWM (peak RSS) and VmRSS of a process, in MB. */
function memoryMb(pid: number): { hwm: number; rss: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/** Every descendant of this process with its name and CPU (own + reaped children), for the CPU breakdown. */
function processTree(): Map<number, { ppid: number; comm: string; ms: number }> {
  const all = new Map<number, { ppid: number; comm: string; ms: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.set(Number(entry), { ppid: Number(f[1]), comm, ms: ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK });
    } catch {
      // gone meanwhile
    }
  }
  const mine = new Map<number, { ppid: number; comm: string; ms: number }>();
  const self = process.pid;
  for (const [pid, p] of all) {
    for (let q: number | undefined = pid; q !== undefined && q > 1; q = all.get(q)?.ppid) {
      if (q === self) {
        mine.set(pid, p);
        break;
      }
    }
  }
  const me = all.get(self);
  if (me) mine.set(self, me);
  return mine;
}

/** CPU spent between two snapshots, by role: runner, postgres, sqs (fauxqs), bench (API + stub model + poller). */
function cpuBreakdown(before: ReturnType<typeof processTree>, after: ReturnType<typeof processTree>, runnerPid: number): Record<string, number> {
  const out: Record<string, number> = { runner: 0, postgres: 0, sqs: 0, bench: 0 };
  for (const [pid, p] of after) {
    const delta = p.ms - (before.get(pid)?.ms ?? 0);
    const role = pid === runnerPid ? 'runner' : pid === process.pid ? 'bench' : p.comm.startsWith('postgres') || after.get(p.ppid)?.comm.startsWith('postgres') ? 'postgres' : p.comm === 'node' || p.comm === 'MainThread' ? 'sqs' : p.comm;
    out[role] = (out[role] ?? 0) + delta;
  }
  return out;
}

// ---------------------------------------------------------------- the runner

interface RunnerStats {
  t: number;
  done_per_s: number;
  held: number;
  pending: number;
  running: number;
  committing: number;
  retries: number;
  failed: number;
  models: { limit: number; inFlight: number; throttled: number }[];
}

interface RunnerProc {
  proc: ChildProcess;
  pid: number;
  stats: RunnerStats[];
  limitChanges: number;
  /** Worker threads, from its runner_started line. */
  threads: number;
  /** --gc: per V8 isolate (main thread, each worker), heap MB after full GCs and the most committed. */
  heaps: Map<string, { fullGcs: number; scavenges: number; firstAfterFull: number; lastAfterFull: number; maxAfterFull: number; maxCommitted: number; lastAt: number }>;
  errors: string[];
  stop(): Promise<void>;
}

/** Runner processes still running, killed if this bench is interrupted. */
const live = new Set<ChildProcess>();

async function startRunner(env: Record<string, string>): Promise<RunnerProc> {
  // --profile: V8 CPU profiles of the runner (main thread and each worker thread) into PROFILE_DIR.
  const profile = [...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...(TRACE_GC ? ['--trace-gc'] : [])];
  const proc = spawn(process.execPath, [...profile, RUNNER_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: 'info',
      RUNNER_POLL_WAIT_SEC: '1',
      RUNNER_STATS_INTERVAL_MS: String(STATS_INTERVAL_MS),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const stats: RunnerStats[] = [];
  const errors: string[] = [];
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const runner: RunnerProc = {
    proc,
    pid: proc.pid!,
    stats,
    limitChanges: 0,
    threads: 0,
    heaps: new Map(),
    errors,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 40_000)))]);
      clearTimeout(timer);
      if (!done) {
        proc.kill('SIGKILL');
        await exited;
        throw new BenchError('the runner did not stop within 40 s of SIGTERM');
      }
      if (done.code !== 0) throw new BenchError(`the runner exited with code ${done.code} (signal ${done.signal}) on SIGTERM: ${errors.slice(-3).join(' | ')}`);
    },
  };
  let started: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const t0 = performance.now();
  const logFile = LOG_FILE ? fs.createWriteStream(LOG_FILE, { flags: 'a' }) : undefined;
  proc.once('exit', () => logFile?.end());
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    logFile?.write(line + '\n');
    let entry: any;
    try {
      entry = JSON.parse(line);
    } catch {
      // --trace-gc: "[pid:0xISOLATE]   1234 ms: Mark-Compact 45.6 (60.1) -> 40.2 (58.0) MB, ..."
      const gc = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: (Mark-Compact|Scavenge|Minor Mark-Sweep)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/.exec(line);
      if (gc) {
        const [, isolate, ms, kind, , , after, committed] = gc;
        let h = runner.heaps.get(isolate);
        if (!h) runner.heaps.set(isolate, (h = { fullGcs: 0, scavenges: 0, firstAfterFull: NaN, lastAfterFull: NaN, maxAfterFull: 0, maxCommitted: 0, lastAt: 0 }));
        if (kind === 'Mark-Compact') {
          h.fullGcs++;
          if (!Number.isFinite(h.firstAfterFull)) h.firstAfterFull = Number(after);
          h.lastAfterFull = Number(after);
          h.maxAfterFull = Math.max(h.maxAfterFull, Number(after));
        } else h.scavenges++;
        h.maxCommitted = Math.max(h.maxCommitted, Number(committed));
        h.lastAt = Number(ms);
        return;
      }
      errors.push(line);
      return;
    }
    if (entry.event === 'runner_started') {
      runner.threads = Number(entry.worker_threads) || 0;
      started?.();
    }
    else if (entry.event === 'runner_stats') stats.push({ ...entry, t: performance.now() - t0 });
    else if (entry.event === 'model_limit_changed') runner.limitChanges++;
    else if (entry.level === 'error' || entry.level === 'warn') {
      if (entry.event !== 'dlq_unknown') errors.push(line);
    }
  });
  readline.createInterface({ input: proc.stderr! }).on('line', (line) => errors.push(line));
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 20_000))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    proc.kill('SIGKILL');
    throw new BenchError(`the runner did not start (${outcome}): ${errors.slice(-5).join(' | ')}`);
  }
  return runner;
}

// --------------------------------------------------------------- the stack

interface Env {
  api: Api;
  core: Core;
  stack: RunningStack;
  stub: StubModelServer;
  dataDir: string;
  /** Send times of the stub's answers, when the scenario's behaviour uses timedReply(env.responses). */
  responses: number[];
  runnerEnv(c: number): Record<string, string>;
}

/** --pgstats: PostgreSQL's log lines (auto_explain plans of statements over 5 ms). */
const pgLog: string[] = [];

/** --sqscount: SQS requests by action, through the proxy. */
const sqsCalls = new Map<string, number>();

let cleanupCurrent: (() => Promise<void>) | undefined;

async function withEnv<T>(fn: (env: Env) => Promise<T>): Promise<T> {
  // A pool, as before the Data API: these scenarios measure the runner, and the bench reads pg_stat_statements through it.
  const bench = await startBenchStack({
    name: 'pipeline',
    db: 'pool',
    pgSettings: PGSTATS
      ? {
          shared_preload_libraries: 'pg_stat_statements,auto_explain',
          'pg_stat_statements.track': 'all',
          'pg_stat_statements.track_planning': 'on',
          'auto_explain.log_min_duration': '5ms',
          'auto_explain.log_analyze': 'on',
          'auto_explain.log_timing': 'off',
        }
      : undefined,
    log: PGSTATS ? (line) => pgLog.push(line) : undefined,
  });
  let stub: StubModelServer | undefined;
  let proxy: CountingProxy | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (stub) await stub.close().catch(() => undefined);
      if (proxy) await proxy.close().catch(() => undefined);
      await bench.stop();
    })());
  cleanupCurrent = cleanup;
  try {
    stub = await startModelServer();
    if (SQS_COUNT && bench.stack.sqsEndpoint) proxy = await countingProxy(bench.stack.sqsEndpoint, sqsCalls);
    if (PGSTATS) await bench.core.db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const runnerEnv = bench.runnerEnv(proxy?.url);
    return await fn({
      api: bench.api,
      core: bench.core,
      stack: bench.stack,
      stub,
      dataDir: bench.dataDir,
      responses: [],
      runnerEnv: (c) => ({ ...runnerEnv, MAX_CONCURRENT_TASKS: String(c), ...EXTRA_ENV }),
    });
  } finally {
    await cleanup();
    cleanupCurrent = undefined;
  }
}

// ---------------------------------------------------------- one experiment

interface ModelTraffic {
  requests: number;
  byStatus: Map<number, number>;
  firstAt: number;
  lastAt: number;
  /** Accepted (200) requests per whole second since the first request. */
  perSecond: number[];
  /** Arrival times (epoch ms) of accepted requests. */
  arrivals: number[];
  /** When the stub actually sent each successful answer (epoch ms), in order: its timer may fire late. */
  responses: number[];
}

/** The stub's default answer text, `answer to: <last user message>`, recording when it is sent. */
function timedReply(responses: number[]): (body: any) => string {
  return (body) => {
    responses.push(Date.now());
    const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
    const user = [...messages].reverse().find((m) => m?.role === 'user');
    return `answer to: ${typeof user?.content === 'string' ? user.content : ''}`;
  };
}

/** Takes the stub's recorded requests out (so a 100k run does not keep them all) and tallies them. */
function drain(stub: StubModelServer, traffic: ModelTraffic): void {
  // Not reset(): that would also clear the rate-limit window.
  for (const r of stub.requests.splice(0)) {
    traffic.requests++;
    traffic.byStatus.set(r.status, (traffic.byStatus.get(r.status) ?? 0) + 1);
    if (!traffic.firstAt) traffic.firstAt = r.at;
    traffic.lastAt = Math.max(traffic.lastAt, r.at);
    if (r.status === 200) {
      traffic.arrivals.push(r.at);
      const s = Math.floor((r.at - traffic.firstAt) / 1000);
      traffic.perSecond[s] = (traffic.perSecond[s] ?? 0) + 1;
    }
  }
}

interface RunResult {
  id: number;
  wallMs: number;
  /** From the POST to the stub's first request / last request, ms. */
  firstCallMs: number;
  lastCallMs: number;
  postMs: number;
  traffic: ModelTraffic;
  body: any;
  answers: { rows: number; failed: number; retried: number };
  runnerCpuMs: number;
  /** Of which in the kernel. */
  runnerSysMs: number;
  /** Runner CPU ms by thread role. */
  threads: Record<string, number>;
  cpu: Record<string, number>;
  /** --pgstats: the statements that took the most time in PostgreSQL during the run. */
  pgTop: { calls: number; total: number; mean: number; plans: number; plan: number; query: string }[];
}

async function runExperiment(env: Env, runner: RunnerProc, dataset: string, n: number, timeoutMs: number): Promise<RunResult> {
  env.stub.requests.splice(0);
  const traffic: ModelTraffic = { requests: 0, byStatus: new Map(), firstAt: 0, lastAt: 0, perSecond: [], arrivals: [], responses: env.responses };
  env.responses.length = 0;
  const body = { name: `pipeline-${dataset}`, dataset, model: { name: 'stub-model', base_url: env.stub.url }, metrics: ['exact_match'] };
  if (PGSTATS) {
    await env.core.db.query('SELECT pg_stat_statements_reset()');
    pgLog.length = 0;
  }
  sqsCalls.clear();
  const treeBefore = processTree();
  const machineBefore = machineBusyMs();
  const cpuBefore = cpuMs(runner.pid)!;
  const sysBefore = sysMs(runner.pid);
  const threadsBefore = threadCpu(runner.pid);
  const startedEpoch = Date.now();
  const started = performance.now();
  const created = await env.api.call('POST', '/v1/experiment', body);
  const postMs = performance.now() - started;
  expectStatus('POST /v1/experiment', created);
  const id = created.body.id as number;
  if (created.body.num_total !== n) throw new BenchError(`POST /v1/experiment: num_total ${created.body.num_total}, expected ${n}`);
  let last: any = created.body;
  let wallMs = 0;
  for (;;) {
    const res = await env.api.call('GET', `/v1/experiment/${id}`);
    expectStatus(`GET /v1/experiment/${id}`, res);
    last = res.body;
    if (last.experiment_status === 'finished') {
      wallMs = performance.now() - started;
      break;
    }
    drain(env.stub, traffic);
    if (runner.proc.exitCode !== null || runner.proc.signalCode !== null) throw new BenchError(`the runner died during the run: ${runner.errors.slice(-5).join(' | ')}`);
    if (performance.now() - started > timeoutMs) {
      throw new BenchError(
        `experiment ${id} not finished after ${sec(timeoutMs)}: status ${last.experiment_status}, num_try ${last.num_try}/${n}, ` +
          `num_success ${last.num_success}; runner log: ${runner.errors.slice(-3).join(' | ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const runnerCpuMs = cpuMs(runner.pid)! - cpuBefore;
  const runnerSysMs = sysMs(runner.pid) - sysBefore;
  const threads = threadBreakdown(runner.pid, threadsBefore, threadCpu(runner.pid), runner.threads);
  const cpu = cpuBreakdown(treeBefore, processTree(), runner.pid);
  // What other processes on this machine (not this bench's tree) used meanwhile: noise.
  cpu.others = Math.max(0, machineBusyMs() - machineBefore - Object.values(cpu).reduce((a, b) => a + b, 0));
  drain(env.stub, traffic);
  const { rows } = await env.core.db.query<{ rows: number; failed: number; retried: number }>(
    `SELECT count(*)::int AS rows, count(*) FILTER (WHERE error_msg IS NOT NULL)::int AS failed, count(*) FILTER (WHERE num_try > 1)::int AS retried
     FROM answer WHERE experiment_id = $1`,
    [id],
  );
  const pgTop = PGSTATS
    ? (
        await env.core.db.query<{ calls: number; total: number; mean: number; plans: number; plan: number; query: string }>(
          `SELECT calls::int, total_exec_time + total_plan_time AS total, (total_exec_time + total_plan_time) / greatest(calls, 1) AS mean,
                  plans::int, total_plan_time AS plan, regexp_replace(query, '\\s+', ' ', 'g') AS query
           FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time + total_plan_time DESC LIMIT 14`,
        )
      ).rows
    : [];
  return {
    id,
    wallMs,
    postMs,
    firstCallMs: traffic.firstAt ? traffic.firstAt - startedEpoch : NaN,
    lastCallMs: traffic.lastAt ? traffic.lastAt - startedEpoch : NaN,
    traffic,
    body: last,
    answers: rows[0],
    runnerCpuMs,
    runnerSysMs,
    threads,
    cpu,
    pgTop,
  };
}

/** The experiment must be complete and right: every row answered once, successfully, and scored. */
function checkComplete(r: RunResult, n: number): string[] {
  const problems: string[] = [];
  if (r.body.num_success !== n) problems.push(`num_success ${r.body.num_success} ≠ ${n}`);
  if (r.answers.rows !== n) problems.push(`${r.answers.rows} answer rows stored ≠ ${n}`);
  if (r.answers.failed) problems.push(`${r.answers.failed} failed answers`);
  const result = r.body.results?.[0];
  if (result && result.num_success !== undefined && result.num_success !== n) problems.push(`exact_match scored ${result.num_success} rows ≠ ${n}`);
  return problems;
}

// ------------------------------------------------------------ reporting

interface Line {
  scenario: string;
  figure: string;
  target: string;
  ok: boolean;
  error?: string;
}

const lines: Line[] = [];

function describeRun(r: RunResult, n: number, latencyMs: number, c: number, runner: RunnerProc): void {
  const statuses = [...r.traffic.byStatus].sort((a, b) => a[0] - b[0]).map(([s, k]) => `${s}×${k}`).join(' ');
  const active = r.lastCallMs - r.firstCallMs + latencyMs;
  const stubConcurrency = latencyMs > 0 && active > 0 ? ((r.traffic.byStatus.get(200) ?? 0) * latencyMs) / active : NaN;
  say(
    `  timeline: POST ${r.postMs.toFixed(0)} ms · first model call +${r.firstCallMs} ms · last model call +${r.lastCallMs} ms` +
      ` · finished seen +${r.wallMs.toFixed(0)} ms (tail ${(r.wallMs - r.lastCallMs - latencyMs).toFixed(0)} ms after the last answer)`,
  );
  say(
    `  model: ${r.traffic.requests} requests (${statuses})` +
      (Number.isFinite(stubConcurrency) ? `, mean in flight at the model while active ${stubConcurrency.toFixed(1)}` : '') +
      `; answers: ${r.answers.rows} stored, ${r.answers.retried} took >1 attempt, ${r.answers.failed} failed`,
  );
  const a = r.traffic.arrivals;
  const done = r.traffic.responses;
  if (latencyMs > 0 && a.length > c * 2 && done.length === a.length) {
    // Answers leave in arrival order (same latency for all): answer i belongs to call i.
    const late = a.map((t, i) => done[i] - (t + latencyMs)).sort((x, y) => x - y);
    // Slot refill: with every slot busy, call k takes the slot answer k−C freed.
    const gaps: number[] = [];
    for (let k = c; k < a.length; k++) gaps.push(a[k] - done[k - c]);
    gaps.sort((x, y) => x - y);
    const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
    // Time at each in-flight count at the model (+1 on arrival, −1 when answered).
    const events: [number, number][] = [];
    for (let i = 0; i < a.length; i++) events.push([a[i], 1], [done[i], -1]);
    events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const at = new Map<number, number>();
    let level = 0;
    for (let i = 0; i < events.length; i++) {
      level += events[i][1];
      const next = events[i + 1]?.[0];
      if (next !== undefined) at.set(level, (at.get(level) ?? 0) + next - events[i][0]);
    }
    const span = events[events.length - 1][0] - events[0][0];
    const levels = [...at].sort((x, y) => x[0] - y[0]);
    const levelAt = (p: number) => {
      let acc = 0;
      for (const [k, ms] of levels) if ((acc += ms) >= p * span) return k;
      return levels[levels.length - 1][0];
    };
    const full = ((at.get(c) ?? 0) / span) * 100;
    if (VERBOSE) {
      // Mean calls in flight per 100 ms from the first call: where the dips are.
      const buckets: number[] = [];
      let lvl = 0;
      for (let i = 0; i < events.length - 1; i++) {
        lvl += events[i][1];
        for (let t = events[i][0]; t < events[i + 1][0]; ) {
          const b = Math.floor((t - events[0][0]) / 100);
          const end = Math.min(events[i + 1][0], events[0][0] + (b + 1) * 100);
          buckets[b] = (buckets[b] ?? 0) + (lvl * (end - t)) / 100;
          t = end;
        }
      }
      say(`  calls in flight per 100 ms: ${Array.from(buckets, (x) => Math.round(x ?? 0)).join(' ')}`);
    }
    say(
      `  slot refill (a call − the answer that freed its slot, C=${c}): median ${q(gaps, 0.5)} ms, p90 ${q(gaps, 0.9)} ms, p99 ${q(gaps, 0.99)} ms` +
        ` · stub answers late by median ${q(late, 0.5)} ms, p99 ${q(late, 0.99)} ms` +
        ` · calls in flight at the model: p10 ${levelAt(0.1)}, median ${levelAt(0.5)}, p90 ${levelAt(0.9)}; all ${c} busy ${full.toFixed(0)}% of the time`,
    );
  }
  const total = Object.entries(r.cpu).reduce((a, [k, ms]) => (k === 'others' ? a : a + ms), 0);
  const parts = Object.entries(r.cpu)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .filter(([k]) => k !== 'others')
    .map(([k, ms]) => `${k} ${((ms / r.wallMs) * 100).toFixed(0)}%`)
    .join(', ');
  const others = (r.cpu.others / r.wallMs) * 100;
  say(
    `  CPU (% of one core over the wall time; ${os.availableParallelism()} cores): ${parts}; total ${((total / r.wallMs) * 100).toFixed(0)}%` +
      ` · runner ${(r.runnerCpuMs / n).toFixed(2)} ms/row` +
      ` · processes outside this bench: ${others.toFixed(0)}%${others > 20 ? ' (BUSY MACHINE: figures are not reliable)' : ''}`,
  );
  say(
    `  runner CPU per row by thread: ` +
      Object.entries(r.threads)
        .map(([k, ms]) => `${k === 'workers' ? `${runner.threads} workers` : k} ${(ms / n).toFixed(2)} ms`)
        .join(', ') +
      ` (user ${((r.runnerCpuMs - r.runnerSysMs) / n).toFixed(2)} ms + kernel ${(r.runnerSysMs / n).toFixed(2)} ms)`,
  );
  // runner_stats while the experiment ran (those with something held).
  const busy = runner.stats.filter((s) => s.held > 0 || s.running > 0 || s.done_per_s > 0);
  if (busy.length) {
    const mean = (k: 'held' | 'pending' | 'running' | 'committing') => (busy.reduce((a, s) => a + s[k], 0) / busy.length).toFixed(1);
    const max = (k: 'held' | 'pending' | 'running' | 'committing') => Math.max(...busy.map((s) => s[k]));
    const lastStats = busy[busy.length - 1];
    say(
      `  runner_stats (${busy.length} samples): held mean ${mean('held')} max ${max('held')} · pending ${mean('pending')}/${max('pending')}` +
        ` · running ${mean('running')}/${max('running')} · committing ${mean('committing')}/${max('committing')}` +
        ` · retries ${lastStats.retries} · limit changes ${runner.limitChanges}` +
        (lastStats.models?.[0] ? ` · model limit ${lastStats.models[0].limit} (throttled ${lastStats.models[0].throttled})` : ''),
    );
    if (VERBOSE) {
      for (const s of busy) {
        say(`    t=${(s.t / 1000).toFixed(1)}s done/s ${s.done_per_s} held ${s.held} pending ${s.pending} running ${s.running} committing ${s.committing} retries ${s.retries}` +
          (s.models?.[0] ? ` limit ${s.models[0].limit} inFlight ${s.models[0].inFlight} throttled ${s.models[0].throttled}` : ''));
      }
    }
  }
  if (SQS_COUNT) {
    const calls = [...sqsCalls].sort((x, y) => y[1] - x[1]);
    const total = calls.reduce((t, [, k]) => t + k, 0);
    say(`  runner SQS calls (through the counting proxy): ${total} = ${(total / n).toFixed(2)}/row: ${calls.map(([a, k]) => `${a} ${k} (${(k / n).toFixed(2)}/row)`).join(', ')}`);
  }
  if (runner.heaps.size) {
    say(`  V8 heaps (--trace-gc), per isolate: MB live after the first / last / largest full GC, most committed, GCs:`);
    for (const [isolate, h] of runner.heaps) {
      say(`    ${isolate}: ${h.firstAfterFull} / ${h.lastAfterFull} / ${h.maxAfterFull} MB live, ${h.maxCommitted} MB committed at most, ${h.fullGcs} full GCs, ${h.scavenges} scavenges`);
    }
  }
  if (r.pgTop.length) {
    say(`  pg_stat_statements, top by total time, planning included (all clients, API polls included):`);
    for (const q of r.pgTop) {
      say(`    ${q.total.toFixed(0).padStart(6)} ms ${String(q.calls).padStart(7)} calls ${q.mean.toFixed(2).padStart(6)} ms/call ${(q.calls / n).toFixed(3).padStart(7)}/row  ${q.plans} plans ${q.plan.toFixed(0)} ms  ${q.query.slice(0, 100)}`);
    }
  }
  if (PGSTATS) {
    // The plan of the slowest statement auto_explain logged (the log is in chunks: keep the lines up to the next entry).
    const starts = pgLog.map((l, i) => [i, Number(/duration: ([\d.]+) ms\s+plan:/.exec(l)?.[1] ?? NaN)] as const).filter(([, d]) => Number.isFinite(d));
    const slowCount = starts.length;
    const slowest = starts.sort((a, b) => b[1] - a[1])[0];
    if (slowest) {
      say(`  auto_explain: ${slowCount} statements over 5 ms; the slowest (${slowest[1].toFixed(1)} ms):`);
      for (const l of pgLog.slice(slowest[0], slowest[0] + 45)) {
        if (l !== pgLog[slowest[0]] && /^\d{4}-\d\d-\d\d .*(LOG|ERROR|WARNING):/.test(l)) break;
        say(`    ${l.slice(0, 160)}`);
      }
    }
  }
  if (runner.errors.length) say(`  runner warnings/errors (${runner.errors.length}): ${runner.errors.slice(0, 3).join(' | ').slice(0, 600)}`);
}

// ------------------------------------------------------------ scenarios

interface Throughput {
  key: string;
  n: number;
  latencyMs: number;
  c: number;
  /** Target on the wall: at most this multiple of N·L/C. */
  factor?: number;
  /** Target on the throughput, rows/s. */
  minRowsPerSec?: number;
  behaviour?: StubBehaviour;
  /** Ideal wall when not N·L/C (rate-limited). */
  idealMs?: number;
  max429Share?: number;
}

async function throughput(s: Throughput): Promise<void> {
  const t0 = performance.now();
  await withEnv(async (env) => {
    env.stub.setBehaviour({ latencyMs: s.latencyMs, ...s.behaviour, reply: timedReply(env.responses) });
    const dataset = `ds-${s.n}`;
    await createDataset(env.api, dataset, s.n, row);
    if (ANALYZE) await env.core.db.query('ANALYZE');
    const runner = await startRunner(env.runnerEnv(s.c));
    say(`${s.key}: setup ${sec(performance.now() - t0)} (stack, ${s.n.toLocaleString('en')}-row dataset, runner pid ${runner.pid})`);
    let r: RunResult;
    try {
      const ideal = s.idealMs ?? (s.n * s.latencyMs) / s.c;
      r = await runExperiment(env, runner, dataset, s.n, Math.max(60_000, ideal * 4));
    } finally {
      await runner.stop();
    }
    const problems = checkComplete(r, s.n);
    const head = `${s.key}: N=${s.n} L=${s.latencyMs}ms C=${s.c}${s.behaviour?.maxRequestsPerSecond ? ` model≤${s.behaviour.maxRequestsPerSecond} req/s` : ''}`;
    const rate = s.n / (r.wallMs / 1000);
    let ok = problems.length === 0;
    let figure: string;
    let target: string;
    if (s.minRowsPerSec) {
      ok &&= rate >= s.minRowsPerSec;
      figure = `${sec(r.wallMs)}, ${rate.toFixed(0)} rows/s, runner CPU ${(r.runnerCpuMs / s.n).toFixed(2)} ms/row`;
      target = `≥ ${s.minRowsPerSec} rows/s (ratio ${(rate / s.minRowsPerSec).toFixed(2)} of target)`;
      say(`${head}: ${figure} (ratio ${(rate / s.minRowsPerSec).toFixed(2)} of target; target ≥ ${s.minRowsPerSec} rows/s) ${ok ? 'OK' : 'MISSED'}`);
      say(`  runner CPU: ${r.runnerCpuMs.toFixed(0)} ms for ${s.n} rows = ${(r.runnerCpuMs / s.n).toFixed(2)} ms/row (utime+stime of pid ${runner.pid}, all threads, CLK_TCK ${CLK_TCK})`);
    } else {
      const ideal = s.idealMs ?? (s.n * s.latencyMs) / s.c;
      const ratio = r.wallMs / ideal;
      ok &&= ratio <= s.factor!;
      figure = `${sec(r.wallMs)} (${rate.toFixed(0)} rows/s)`;
      target = `≤ ${s.factor} × ideal ${sec(ideal)} (ratio ${ratio.toFixed(2)})`;
      say(`${head}: ${sec(r.wallMs)} (ideal ${sec(ideal)}, ratio ${ratio.toFixed(2)} of ideal; target ≤ ${s.factor}) ${ok ? 'OK' : 'MISSED'} · ${rate.toFixed(0)} rows/s`);
    }
    if (s.max429Share !== undefined) {
      const n429 = r.traffic.byStatus.get(429) ?? 0;
      const share = r.traffic.requests ? n429 / r.traffic.requests : 0;
      const shareOk = share < s.max429Share;
      ok &&= shareOk;
      const lost = s.n - r.answers.rows;
      figure += `, 429s ${(share * 100).toFixed(1)}%, lost ${lost}`;
      target += `, 429s < ${s.max429Share * 100}%, none lost`;
      say(
        `  429s: ${n429} of ${r.traffic.requests} requests = ${(share * 100).toFixed(1)}% (target < ${s.max429Share * 100}%) ${shareOk ? 'OK' : 'MISSED'}` +
          ` · num_success ${r.body.num_success}/${s.n}, answer rows ${r.answers.rows} ${lost === 0 && problems.length === 0 ? 'OK (nothing lost)' : 'MISSED'}`,
      );
      const accepted = r.traffic.perSecond.map((x) => x ?? 0);
      say(`  accepted requests per second at the model: ${accepted.join(' ')}`);
    }
    if (problems.length) say(`  INCOMPLETE: ${problems.join('; ')}`);
    describeRun(r, s.n, s.latencyMs, s.c, runner);
    lines.push({ scenario: s.key, figure, target, ok });
  });
}

async function rss(): Promise<void> {
  const key = 'rss';
  const sizes = [1_000, RSS_LARGE];
  const c = 32;
  const t0 = performance.now();
  await withEnv(async (env) => {
    env.stub.setBehaviour({ latencyMs: 0 });
    for (const n of sizes) await createDataset(env.api, `ds-${n}`, n, row);
    if (ANALYZE) await env.core.db.query('ANALYZE');
    say(`${key}: setup ${sec(performance.now() - t0)} (stack, datasets of ${sizes.map((n) => n.toLocaleString('en')).join(' and ')} rows)`);
    const peaks: number[] = [];
    let problems: string[] = [];
    for (const n of sizes) {
      const runner = await startRunner(env.runnerEnv(c));
      const startMem = memoryMb(runner.pid);
      let r: RunResult;
      let mem: { hwm: number; rss: number };
      try {
        r = await runExperiment(env, runner, `ds-${n}`, n, Math.max(60_000, n * 10));
        mem = memoryMb(runner.pid);
      } finally {
        await runner.stop();
      }
      peaks.push(mem.hwm);
      problems = problems.concat(checkComplete(r, n).map((p) => `N=${n}: ${p}`));
      say(
        `  N=${n.toLocaleString('en')}: ${sec(r.wallMs)} (${(n / (r.wallMs / 1000)).toFixed(0)} rows/s), runner peak RSS (VmHWM) ${mem.hwm.toFixed(1)} MB` +
          ` (${startMem.hwm.toFixed(1)} MB after start, VmRSS at the end ${mem.rss.toFixed(1)} MB), runner CPU ${(r.runnerCpuMs / n).toFixed(2)} ms/row`,
      );
      describeRun(r, n, 0, c, runner);
    }
    const ratio = peaks[1] / peaks[0];
    const ok = ratio <= 1.2 && problems.length === 0;
    say(`${key}: L=0 C=${c}: runner peak RSS ${peaks[0].toFixed(1)} MB at N=1,000, ${peaks[1].toFixed(1)} MB at N=${RSS_LARGE.toLocaleString('en')}: ratio ${ratio.toFixed(2)} (target ≤ 1.20) ${ok ? 'OK' : 'MISSED'}`);
    if (problems.length) say(`  INCOMPLETE: ${problems.join('; ')}`);
    lines.push({ scenario: key, figure: `VmHWM ${peaks[0].toFixed(0)} → ${peaks[1].toFixed(0)} MB`, target: `≤ 1.2× (ratio ${ratio.toFixed(2)})`, ok });
  });
}

const SCENARIOS: Record<string, () => Promise<void>> = {
  c8: () => throughput({ key: 'c8', n: 2000, latencyMs: 100, c: 8, factor: 1.05 }),
  c32: () => throughput({ key: 'c32', n: 2000, latencyMs: 100, c: 32, factor: 1.1 }),
  c256: () => throughput({ key: 'c256', n: 5000, latencyMs: 1000, c: 256, factor: 1.1 }),
  l0: () => throughput({ key: 'l0', n: 5000, latencyMs: 0, c: 32, minRowsPerSec: 450 }),
  ratelimit: () =>
    throughput({
      key: 'ratelimit',
      n: 1000,
      latencyMs: 50,
      c: 64,
      factor: 1.1,
      idealMs: (1000 / 50) * 1000,
      behaviour: { maxRequestsPerSecond: 50, retryAfterSeconds: 1 },
      max429Share: 0.05,
    }),
  rss,
  idle,
  floor,
};
/** Not run by default: diagnostics (what the runner costs doing nothing; the machine's floor). */
const OPTIONAL = new Set(['idle', 'floor']);

const FLOOR_CLIENT = fileURLToPath(new URL('./floor-client.js', import.meta.url));

/**
 * What this machine allows of the ideal N·L/C at all: a bare keep-alive
 * node:http client in its own process (bench/floor-client.ts) against the
 * same stub, at c8's and c32's C, L and N. Read the throughput ratios
 * against these.
 */
async function floor(): Promise<void> {
  const stub = await startModelServer({ latencyMs: 100 });
  try {
    for (const c of [8, 32]) {
      const n = 2000;
      // Not execFileSync: the stub answers from this process's event loop.
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [FLOOR_CLIENT, stub.url, String(c), String(n)], { encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
      );
      stub.requests.splice(0);
      const ms = Number(out.trim());
      const ratio = ms / ((n * 100) / c);
      say(`floor: bare node:http client, N=${n} L=100ms C=${c}: ${sec(ms)} (ratio ${ratio.toFixed(3)} of ideal)`);
      lines.push({ scenario: `floor C=${c}`, figure: `ratio ${ratio.toFixed(3)} of ideal`, target: '(diagnostic)', ok: true });
    }
  } finally {
    await stub.close();
  }
}

/** The runner's CPU while idle (queue empty, polling), over 5 s. */
async function idle(): Promise<void> {
  await withEnv(async (env) => {
    for (const c of [8, 32]) {
      const runner = await startRunner(env.runnerEnv(c));
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const before = cpuMs(runner.pid)!;
        const t = performance.now();
        await new Promise((r) => setTimeout(r, 5000));
        const ms = cpuMs(runner.pid)! - before;
        say(`idle: C=${c}: runner CPU ${ms.toFixed(0)} ms over ${sec(performance.now() - t)} = ${((ms / (performance.now() - t)) * 100).toFixed(1)}% of a core`);
        lines.push({ scenario: `idle C=${c}`, figure: `${((ms / (performance.now() - t)) * 100).toFixed(1)}% of a core`, target: '(diagnostic)', ok: true });
      } finally {
        await runner.stop();
      }
    }
  });
}

/** Waits until the whole machine used under 15% of one core for 3 s in a row (at most 2 min). */
async function waitQuiet(): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const before = machineBusyMs();
    await new Promise((r) => setTimeout(r, 3000));
    const busy = (machineBusyMs() - before) / 3000;
    if (busy < 0.15) break;
    if (performance.now() - t0 > 120_000) {
      say(`(machine still busy: ${(busy * 100).toFixed(0)}% of a core used by others; running anyway)`);
      return;
    }
  }
  if (performance.now() - t0 > 3500) say(`(waited ${sec(performance.now() - t0)} for a quiet machine)`);
}

async function main(): Promise<number> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const unknown = asked.filter((a) => !(a in SCENARIOS));
  if (unknown.length) throw new BenchError(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  if (!(Number.isInteger(RSS_LARGE) && RSS_LARGE >= 1000)) throw new BenchError(`--rss-n must be an integer ≥ 1000, got ${RSS_LARGE}`);
  if (!fs.existsSync(RUNNER_MAIN)) throw new BenchError(`${RUNNER_MAIN} is missing: run npm run build first`);
  const chosen = asked.length ? asked : Object.keys(SCENARIOS).filter((k) => !OPTIONAL.has(k));
  say(`pipeline: ${chosen.join(', ')} — API → SQS → runner → PostgreSQL with a stub model (${os.availableParallelism()} cores)`);
  if (ANALYZE) say('diagnostic: ANALYZE after each upload');
  if (Object.keys(EXTRA_ENV).length) say(`runner environment overrides: ${Object.entries(EXTRA_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const t0 = performance.now();
  let errors = 0;
  for (const key of chosen) {
    say('');
    try {
      if (WAIT_QUIET) await waitQuiet();
      await SCENARIOS[key]();
    } catch (err) {
      errors++;
      const message = err instanceof BenchError ? err.message : ((err as Error)?.stack ?? String(err));
      say(`${key}: ERROR ${message}`);
      lines.push({ scenario: key, figure: '-', target: '-', ok: false, error: message.split('\n')[0] });
    }
  }
  if (PROFILE_DIR) say(`\nrunner CPU profiles in ${PROFILE_DIR}`);
  say('');
  say(`summary (${sec(performance.now() - t0)}):`);
  const w = Math.max(...lines.map((l) => l.figure.length), 6);
  for (const l of lines) say(`  ${l.scenario.padEnd(10)} ${l.figure.padEnd(w)}  ${l.error ? `ERROR: ${l.error}` : `${l.target}  ${l.ok ? 'OK' : 'MISSED'}`}`);
  return errors ? 1 : 0;
}

const onSignal = (signal: NodeJS.Signals) => {
  process.stderr.write(`pipeline bench: ${signal}, stopping\n`);
  for (const proc of live) proc.kill('SIGKILL');
  void (cleanupCurrent?.() ?? Promise.resolve()).finally(() => process.exit(1));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof BenchError ? err.message : ((err as Error)?.stack ?? String(err))}\n`);
    process.exit(1);
  },
);
