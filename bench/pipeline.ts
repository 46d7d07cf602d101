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
 *   shared3, scale3            three runner processes on the queue: sharing one 50 req/s limit (as ratelimit);
 *                              and N=3,000 at L=200ms, C=16 each, against one runner (target ≤ 0.4 of its time)
 *   idle                       scenario (not in the default list): the runner's CPU while idle
 *   floor                      scenario (not in the default list): a bare node:http client against the
 *                              same stub at c8's and c32's settings: the machine's floor for those ratios
 *   ratelimit-styles           the gateway rate-limit styles (not in the default list; bench/ratelimit-styles.ts),
 *                              each also by its own key (rl-at-once, rl-openai, …): 50 req/s, L=50ms, C=64, N=1,000
 *
 * Each scenario gets a private stack (embedded PostgreSQL with fsync off +
 * fauxqs) in a temp folder, the real API handler served over HTTP in this
 * process, the stub model in this process, and a fresh runner child process.
 * Exits 0 even when targets are missed (a benchmark reports), 1 on an error.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { BenchError } from './api.js';
import { cleanupCurrent } from './pipeline-env.js';
import { ANALYZE, EXTRA_ENV, PROFILE_DIR, RSS_LARGE, WAIT_QUIET } from './pipeline-flags.js';
import { lines } from './pipeline-report.js';
import { live, RUNNER_MAIN } from './pipeline-runner.js';
import { GROUPS, OPTIONAL, SCENARIOS } from './pipeline-scenarios.js';
import { say, sec } from './print.js';
import { machineBusyMs } from './proc-stats.js';

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
  const asked = process.argv
    .slice(2)
    .filter((a) => !a.startsWith('--'))
    .flatMap((a) => GROUPS[a] ?? [a]);
  const unknown = asked.filter((a) => !(a in SCENARIOS));
  if (unknown.length) throw new BenchError(`unknown scenario(s) ${unknown.join(', ')}; known: ${[...Object.keys(SCENARIOS), ...Object.keys(GROUPS)].join(', ')}`);
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
