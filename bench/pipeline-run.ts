/** One experiment measured: launched through the API, polled to the end, with its model traffic and CPU. */
import { performance } from 'node:perf_hooks';
import { BenchError, expectStatus } from './api.js';
import { pgLog, sqsCalls, type Env } from './pipeline-env.js';
import { PGSTATS } from './pipeline-flags.js';
import type { RunnerProc } from './pipeline-runner.js';
import { sec } from './print.js';
import { cpuBreakdown, cpuMs, machineBusyMs, processTree, sysMs, threadBreakdown, threadCpu } from './proc-stats.js';
import type { StubModelServer } from './stub-model.js';

const POLL_MS = 50;

export interface ModelTraffic {
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
export function timedReply(responses: number[]): (body: any) => string {
  return (body) => {
    responses.push(Date.now());
    const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
    const user = [...messages].reverse().find((m) => m?.role === 'user');
    return `answer to: ${typeof user?.content === 'string' ? user.content : ''}`;
  };
}

/** Takes the stub's recorded requests out (so a 100k run does not keep them all) and tallies them. */
export function drain(stub: StubModelServer, traffic: ModelTraffic): void {
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

export interface RunResult {
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

export async function runExperiment(env: Env, runner: RunnerProc, dataset: string, n: number, timeoutMs: number): Promise<RunResult> {
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
export function checkComplete(r: RunResult, n: number): string[] {
  const problems: string[] = [];
  if (r.body.num_success !== n) problems.push(`num_success ${r.body.num_success} ≠ ${n}`);
  if (r.answers.rows !== n) problems.push(`${r.answers.rows} answer rows stored ≠ ${n}`);
  if (r.answers.failed) problems.push(`${r.answers.failed} failed answers`);
  const result = r.body.results?.[0];
  if (result && result.num_success !== undefined && result.num_success !== n) problems.push(`exact_match scored ${result.num_success} rows ≠ ${n}`);
  return problems;
}
