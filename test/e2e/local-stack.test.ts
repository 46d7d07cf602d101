/**
 * `npm start` as a user runs it: the built local stack in its own process,
 * with its own PostgreSQL, SQS server and runner.
 */
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../local/ports.js';
import { startModelServer } from '../support/model-server.js';
import { waitUntil } from '../support/runner.js';

jest.setTimeout(120_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-e2e-'));
let env: Record<string, string>;
let url: string;

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = {
    PATH: process.env.PATH!,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    EVALAP_DATA_DIR: dataDir,
    PORT: String(port),
    EVALAP_PG_PORT: String(await freePort()),
    EVALAP_SQS_PORT: String(await freePort()),
    RUNNER_POLL_WAIT_SEC: '1',
  };
});
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function start(extra: Record<string, string> = {}): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ['dist/local/main.js'], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return { proc, output: () => out, exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))) };
}

const healthy = async () => {
  try {
    const res = await fetch(`${url}/health`);
    return res.status === 200 ? ((await res.json()) as any) : undefined;
  } catch {
    return undefined;
  }
};

describe('npm start', () => {
  it('serves the API and runs experiments, stops cleanly on Ctrl-C, and keeps its data across restarts', async () => {
    const first = start();
    const health = await waitUntil(healthy, 60_000, 'the stack to be healthy');
    expect(health.checks).toMatchObject({ database: { ok: true }, queue: { ok: true }, runner: { ok: true } });
    const intruder = start({ PORT: String(await freePort()) });
    expect(await intruder.exited).toBe(1);
    expect(intruder.output().trim()).toBe(`cannot start: another Evalap stack (pid ${first.proc.pid}) is using ${dataDir}; stop it, use its API, or set EVALAP_DATA_DIR to another folder`);
    const post = (p: string, body: unknown) => fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/v1/dataset', { name: 'kept', readme: '', df: JSON.stringify([{ query: 'a', output_true: 'x' }, { query: 'b', output_true: 'y' }]) })).status).toBe(200);
    expect((await post('/v1/experiment', { name: 'e', dataset: 'kept', model: { aliased_name: 'm', output: ['x', 'z'] }, metrics: ['exact_match'] })).status).toBe(200);
    const done = await waitUntil(async () => {
      const e = (await (await fetch(`${url}/v1/experiment/1?with_results=true`)).json()) as any;
      return e.experiment_status === 'finished' ? e : undefined;
    }, 30_000, 'the experiment to finish');
    expect(done.results[0].summary).toMatchObject({ mean: 0.5, support: 2 });

    first.proc.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"event":"stack_stopped"');

    const second = start();
    await waitUntil(healthy, 60_000, 'the restarted stack');
    const kept = await (await fetch(`${url}/v1/dataset?name=kept`)).json();
    expect(kept).toMatchObject({ name: 'kept', size: 2 });
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('finishes a run stopped half-way: the work its in-memory queue lost is enqueued again at the next start', async () => {
    const model = await startModelServer({ latencyMs: 50 });
    try {
      const first = start({ MAX_CONCURRENT_TASKS: '2' });
      await waitUntil(healthy, 60_000, 'the stack to be healthy');
      const post = (p: string, body: unknown) => fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const df = JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ query: `q${i}`, output_true: `answer to: q${i}` })));
      expect((await post('/v1/dataset', { name: 'halfway', readme: '', df })).status).toBe(200);
      const res = await post('/v1/experiment', { name: 'halfway', dataset: 'halfway', model: { name: 'stub', base_url: model.url }, metrics: ['exact_match'] });
      const id = ((await res.json()) as any).id;
      const get = async () => (await (await fetch(`${url}/v1/experiment/${id}`)).json()) as any;
      await waitUntil(async () => (await get()).num_try >= 20 || undefined, 60_000, 'the run to be under way');
      first.proc.kill('SIGINT');
      expect(await first.exited).toBe(0);
      expect(model.requests.length).toBeLessThan(300);

      // Restarted with three runners on the queue (RUNNER_PROCESSES), as three Fargate tasks.
      const second = start({ RUNNER_PROCESSES: '3' });
      const done = await waitUntil(async () => {
        const e = await get().catch(() => undefined);
        return e?.experiment_status === 'finished' ? e : undefined;
      }, 60_000, 'the experiment to finish after the restart');
      expect(done).toMatchObject({ num_try: 300, num_success: 300 });
      // Only what was missing was asked again: at most the tasks running when it stopped are repeated.
      expect(model.requests.length).toBeLessThan(300 + 10);
      expect(second.output()).toContain('"event":"unfinished_work_requeued"');
      const runnersStarted = second.output().split('\n').filter((l) => l.includes('"event":"runner_started"')).map((l) => JSON.parse(l).runner);
      expect(runnersStarted.sort()).toEqual([1, 2, 3]);
      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await model.close();
    }
  });

  it('says in one line that a port is taken, and exits', async () => {
    const blocker = net.createServer().listen(Number(env.PORT), '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const run = start();
      expect(await run.exited).toBe(1);
      expect(run.output().trim().split('\n').filter((l) => !l.startsWith('{'))).toEqual([
        `cannot start: port ${env.PORT} on 127.0.0.1 is already in use; stop what holds it or set PORT to another port`,
      ]);
    } finally {
      blocker.close();
    }
  });

  it('names the variable when a setting is wrong', async () => {
    const run = start({ MAX_CONCURRENT_TASKS: 'lots' });
    expect(await run.exited).toBe(1);
    expect(run.output().trim()).toBe('configuration error: MAX_CONCURRENT_TASKS: expected an integer, got "lots"');
  });

  it('refuses to run open on a non-loopback address', async () => {
    const run = start({ HOST: '0.0.0.0' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/^configuration error: EVALAP_API_KEYS: must be set/);
  });
});
