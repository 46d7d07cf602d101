/** What a run printed: its timeline, model traffic, CPU and runner stats, and the summary lines. */
import os from 'node:os';
import { pgLog, sqsCalls } from './pipeline-env.js';
import { PGSTATS, SQS_COUNT, VERBOSE } from './pipeline-flags.js';
import type { RunResult } from './pipeline-run.js';
import type { RunnerProc } from './pipeline-runner.js';
import { say } from './print.js';

export interface Line {
  scenario: string;
  figure: string;
  target: string;
  ok: boolean;
  error?: string;
}

export const lines: Line[] = [];

export function describeRun(r: RunResult, n: number, latencyMs: number, c: number, runner: RunnerProc): void {
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
