/**
 * The local stack's runner supervisor against a stand-in runner script: a
 * crash loop backs off, a runner that stayed up long enough starts the
 * back-off over, and a clean exit from outside is restarted without an error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { createLogger } from '../../core/logger.js';
import { startRunnerProcess, type RunnerProcess } from '../../local/runner-process.js';
import { startRunnerProcesses } from '../../local/runner-processes.js';
import { alive } from '../support/processes.js';

jest.setTimeout(30_000);

/**
 * Reads what to be from the file named by FAKE_RUNNER_MODE at each start:
 * 'crash' says it started, then exits 1; 'serve' says it started (with its
 * pid) and runs until SIGTERM, then exits 0, as the runner does.
 */
const FAKE_RUNNER = `
import fs from 'node:fs';
const mode = fs.readFileSync(process.env.FAKE_RUNNER_MODE, 'utf8');
const alive = setInterval(() => {}, 60_000);
process.on('SIGTERM', () => { clearInterval(alive); process.exit(0); });
console.log(JSON.stringify({ event: 'runner_started', pid: process.pid }));
if (mode === 'crash') process.exit(1);
`;

const OPTIONS = { healthyAfterMs: 300, firstPauseMs: 10, maxPauseMs: 80 };

let dir: string;
let modeFile: string;
let runner: RunnerProcess | undefined;
const logs: Record<string, any>[] = [];
const output: Record<string, any>[] = [];
let waiters: (() => void)[] = [];

function record(into: Record<string, any>[]) {
  return (line: string) => {
    into.push(line.startsWith('{') ? JSON.parse(line) : { event: 'text', line });
    for (const wake of waiters.splice(0)) wake();
  };
}

/** Resolves once `list` holds `n` entries with this event; no timing involved. */
async function seen(list: Record<string, any>[], event: string, n: number): Promise<Record<string, any>[]> {
  for (;;) {
    const found = list.filter((l) => l.event === event);
    if (found.length >= n) return found;
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
}

function start(mode: 'crash' | 'serve', count?: number, over: Partial<typeof OPTIONS> = {}): RunnerProcess {
  fs.writeFileSync(modeFile, mode);
  const logger = createLogger({ level: 'debug', write: record(logs) });
  const env = { PATH: process.env.PATH, FAKE_RUNNER_MODE: modeFile };
  const options = { ...OPTIONS, ...over, script: path.join(dir, 'fake-runner.mjs') };
  runner = count === undefined ? startRunnerProcess(env, logger, record(output), options) : startRunnerProcesses(count, env, logger, record(output), options);
  return runner;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-runner-process-'));
  modeFile = path.join(dir, 'mode');
  fs.writeFileSync(path.join(dir, 'fake-runner.mjs'), FAKE_RUNNER);
  logs.length = 0;
  output.length = 0;
  waiters = [];
});

afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the local runner process', () => {
  it('waits longer after each crash of a runner that keeps crashing, up to the maximum', async () => {
    start('crash');
    const exits = await seen(logs, 'runner_exited', 5);
    expect(exits.map((l) => l.restart_in_ms)).toEqual([10, 20, 40, 80, 80]);
    expect(exits.every((l) => l.level === 'error' && l.code === 1)).toBe(true);
  });

  it('restarts a runner that crashes after a healthy period with the shortest pause again', async () => {
    const r = start('crash');
    await seen(logs, 'runner_exited', 3);
    fs.writeFileSync(modeFile, 'serve');
    await seen(logs, 'runner_restart_backoff_reset', 1);
    await r.check();
    const { pid } = (await seen(output, 'runner_started', 4)).at(-1)!;
    process.kill(pid, 'SIGKILL');
    const exit = (await seen(logs, 'runner_exited', 4)).at(-1)!;
    expect(exit).toMatchObject({ level: 'error', code: null, signal: 'SIGKILL', restart_in_ms: 10 });
    // And the back-off grows again from there if it keeps crashing.
    fs.writeFileSync(modeFile, 'crash');
    expect((await seen(logs, 'runner_exited', 6)).slice(4).map((l) => l.restart_in_ms)).toEqual([20, 40]);
  });

  it('logs a clean exit from outside at info level and starts the runner again', async () => {
    const r = start('serve');
    const { pid } = (await seen(output, 'runner_started', 1))[0];
    process.kill(pid, 'SIGTERM');
    const exit = (await seen(logs, 'runner_exited', 1))[0];
    expect(exit).toMatchObject({ level: 'info', code: 0, restart_in_ms: 10 });
    const again = (await seen(output, 'runner_started', 2))[1];
    expect(again.pid).not.toBe(pid);
    await r.check();
  });

  it('does not restart the runner once the stack stops it', async () => {
    const r = start('serve');
    await seen(output, 'runner_started', 1);
    await r.stop();
    await expect(r.check()).rejects.toThrow();
    expect(logs.filter((l) => l.event === 'runner_exited')).toEqual([]);
  });

  it('runs RUNNER_PROCESSES runners, tells their lines apart, and stops them all', async () => {
    const r = start('serve', 3);
    const started = await seen(output, 'runner_started', 3);
    expect(started.map((l) => l.runner).sort()).toEqual([1, 2, 3]);
    expect(new Set(started.map((l) => l.pid)).size).toBe(3);
    await r.check();
    await r.stop();
    expect(started.map((l) => alive(l.pid))).toEqual([false, false, false]);
    await expect(r.check()).rejects.toThrow();
  });

  it('is unhealthy while any one of several runners is down, and says which, and restarts only that one', async () => {
    // A long pause keeps runner 2 down while the check runs.
    const r = start('serve', 3, { firstPauseMs: 60_000, maxPauseMs: 60_000 });
    const started = await seen(output, 'runner_started', 3);
    const second = started.find((l) => l.runner === 2)!;
    process.kill(second.pid, 'SIGKILL');
    const exit = (await seen(logs, 'runner_exited', 1))[0];
    expect(exit).toMatchObject({ runner: 2, level: 'error', signal: 'SIGKILL', restart_in_ms: 60_000 });
    await expect(r.check()).rejects.toThrow(/^runner 2 of 3: /);
    expect(started.filter((l) => l.runner !== 2).map((l) => alive(l.pid))).toEqual([true, true]);
  });
});
