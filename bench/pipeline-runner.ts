/** The runner under measure: its own process, its log lines parsed into stats, errors and V8 heaps. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BenchError } from './api.js';
import { LOG_FILE, PROFILE_DIR, TRACE_GC } from './pipeline-flags.js';

// Resolved from the bundle, dist/bench/pipeline.js (scripts/build.js), beside which dist/runner/ is built.
export const RUNNER_MAIN = fileURLToPath(new URL('../runner/main.js', import.meta.url));
const STATS_INTERVAL_MS = 1000;

export interface RunnerStats {
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

export interface RunnerProc {
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
export const live = new Set<ChildProcess>();

export async function startRunner(env: Record<string, string>): Promise<RunnerProc> {
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
