/** CPU and memory of processes and threads, read from Linux's /proc. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Clock ticks per second: the unit of /proc's CPU times. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime (+ reaped children's when `children`) of a process, in ms; undefined once it is gone. */
export function cpuMs(pid: number, children = false): number | undefined {
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
export function machineBusyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return ((f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * 1000) / CLK_TCK;
}

/** CPU ms of each thread of a process, by thread id, in thread-id (creation) order. */
export function threadCpu(pid: number): Map<number, { comm: string; ms: number }> {
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
export function threadBreakdown(pid: number, before: Map<number, { comm: string; ms: number }>, after: Map<number, { comm: string; ms: number }>, workers: number): Record<string, number> {
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
export function sysMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[12]) * 1000) / CLK_TCK;
}

/** VmHWM (peak RSS) and VmRSS of a process, in MB. */
export function memoryMb(pid: number): { hwm: number; rss: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/** Every descendant of this process with its name and CPU (own + reaped children), for the CPU breakdown. */
export function processTree(): Map<number, { ppid: number; comm: string; ms: number }> {
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
export function cpuBreakdown(before: ReturnType<typeof processTree>, after: ReturnType<typeof processTree>, runnerPid: number): Record<string, number> {
  const out: Record<string, number> = { runner: 0, postgres: 0, sqs: 0, bench: 0 };
  for (const [pid, p] of after) {
    const delta = p.ms - (before.get(pid)?.ms ?? 0);
    const role = pid === runnerPid ? 'runner' : pid === process.pid ? 'bench' : p.comm.startsWith('postgres') || after.get(p.ppid)?.comm.startsWith('postgres') ? 'postgres' : p.comm === 'node' || p.comm === 'MainThread' ? 'sqs' : p.comm;
    out[role] = (out[role] ?? 0) + delta;
  }
  return out;
}
