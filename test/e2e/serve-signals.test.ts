/**
 * `evalap serve | tee log` as a user runs it in a terminal: a shell pipeline
 * in one process group. Ctrl-C reaches the whole group, and `tee` may die
 * before the stack has finished writing: PostgreSQL (in its own group, so it
 * is never stopped before the runner commits) must be stopped all the same.
 * Also: the stack's data lives under EVALAP_HOME (~/.evalap by default),
 * whatever the current folder.
 */
import { jest } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../local/ports.js';
import { projectRoot } from '../../local/paths.js';
import { waitUntil } from '../support/runner.js';
import { alive } from '../support/processes.js';

jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-serve-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The pids of a process group's members running `command`. */
const groupMembers = (pgid: number, command: string) =>
  execFileSync('ps', ['-e', '-o', 'pid=,pgid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, g, c]) => Number(g) === pgid && c === command)
    .map(([p]) => Number(p));

/** `evalap serve | tee <log>` started by a shell, in a folder that is not the project's, as a group of its own (as a terminal's job is). */
async function pipeline(env: Record<string, string>) {
  const cwd = fs.mkdtempSync(path.join(tmp, 'cwd-'));
  const port = await freePort();
  const log = path.join(cwd, 'log');
  const evalap = path.join(projectRoot(), 'bin', 'evalap.js');
  const shell = spawn('sh', ['-c', `"${process.execPath}" "${evalap}" serve 2>"${path.join(cwd, 'stderr')}" | tee "${log}" >/dev/null`], {
    cwd,
    detached: true,
    stdio: 'ignore',
    env: { PATH: process.env.PATH!, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', PORT: String(port), EVALAP_PG_PORT: String(await freePort()), EVALAP_SQS_PORT: String(await freePort()), RUNNER_POLL_WAIT_SEC: '1', RUNNER_STATS_INTERVAL_MS: '200', ...env },
  });
  const exited = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok, 60_000, 'the stack to be healthy');
  return { cwd, pgid: shell.pid!, exited, stderr: () => fs.readFileSync(path.join(cwd, 'stderr'), 'utf8') };
}

const postgresPid = (home: string) => Number(fs.readFileSync(path.join(home, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

describe('evalap serve | tee log', () => {
  it('stops PostgreSQL too when Ctrl-C reaches the whole pipeline, and keeps its data under EVALAP_HOME, not the current folder', async () => {
    const home = path.join(tmp, 'home-a');
    const run = await pipeline({ EVALAP_HOME: home });
    const pg = postgresPid(home);
    expect(alive(pg)).toBe(true);
    expect(fs.existsSync(path.join(run.cwd, '.evalap'))).toBe(false);

    process.kill(-run.pgid, 'SIGINT');
    await run.exited;
    await waitUntil(async () => !alive(pg) || undefined, 30_000, 'PostgreSQL to stop');
    expect(fs.existsSync(path.join(home, 'stack.pid'))).toBe(false);
    expect(run.stderr()).not.toMatch(/EPIPE|forced exit|Error/);
  });

  it('stops PostgreSQL too when tee dies first and the stack\'s writes fail with EPIPE', async () => {
    // No EVALAP_HOME: the default, ~/.evalap, in this test's own home.
    const userHome = path.join(tmp, 'user');
    fs.mkdirSync(userHome);
    const run = await pipeline({ HOME: userHome });
    const home = path.join(userHome, '.evalap');
    const pg = postgresPid(home);
    const [tee] = groupMembers(run.pgid, 'tee');
    expect(tee).toBeGreaterThan(0);

    // The runner logs its stats every 200 ms: the next write after tee is gone fails.
    process.kill(tee, 'SIGKILL');
    await waitUntil(async () => !alive(pg) || undefined, 60_000, 'PostgreSQL to stop');
    await run.exited;
    expect(fs.existsSync(path.join(home, 'stack.pid'))).toBe(false);
    expect(groupMembers(run.pgid, 'node')).toEqual([]);
  });
});
