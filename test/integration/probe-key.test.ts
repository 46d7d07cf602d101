/**
 * A provider key is never returned, logged or stored in clear: a probe key
 * goes through every route that accepts a model or a judge (experiments,
 * sets with explicit experiments and with a `cv` grid, set PATCH, schedule
 * templates, bodies the API refuses), the runner uses it against a model
 * that echoes it back in its errors, and then every response, every log
 * line, every stored value and the PostgreSQL data folder itself (tables,
 * indexes, WAL) are searched for it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { jest } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(120_000);

const PROBE = `sk-probe-${randomBytes(12).toString('hex')}`;
/** What a leak may look like besides the key itself: its long prefixes (a cut message), URL- and base64-encoded. */
const needles = [PROBE, PROBE.slice(0, 16), encodeURIComponent(PROBE), Buffer.from(PROBE).toString('base64').slice(0, 24)];
const leaks = (text: string) => needles.filter((n) => text.includes(n));

let api: TestApi;
let model: StubModelServer;
let runner: RunningRunner | undefined;
const apiLogs: string[] = [];
const responses: string[] = [];

beforeAll(async () => {
  api = await startApi({}, apiLogs);
  // Rows whose query says "echo" get a 401 quoting the caller's Authorization header.
  model = await startModelServer({ script: (_, body) => (JSON.stringify(body.messages).includes('echo') ? '401' : 'ok') });
});
afterAll(async () => {
  if (runner && runner.proc.exitCode === null) {
    runner.kill('SIGTERM');
    await runner.exited;
  }
  await model.close();
  await api.close();
});

async function call(method: string, route: string, body?: unknown, raw?: string) {
  const res = await api.call(method, route, raw !== undefined ? { raw } : body !== undefined ? { body } : {});
  responses.push(`${method} ${route} → ${res.status} ${res.text} ${JSON.stringify([...res.headers])}`);
  return res;
}

const chat = () => ({ name: 'stub-model', base_url: model.url, api_key: PROBE });
const judge = () => ({ name: 'stub-judge', base_url: model.url, api_key: PROBE });

describe('a provider key sent through every route that takes a model', () => {
  it('appears in no response, no log line, no stored value and nowhere in the database files', async () => {
    const df = JSON.stringify([
      { query: 'capital of France?', output_true: 'answer to: capital of France?' },
      { query: 'echo the key please', output_true: 'x' },
      { query: 'capital of Peru?', output_true: 'y' },
    ]);
    expect((await call('POST', '/v1/dataset', { name: 'probe', readme: '', df })).status).toBe(200);
    const metrics = ['exact_match', 'judge_exactness'];

    // Accepted bodies: an experiment, a set of explicit experiments, a cv grid, a set PATCH, schedule templates.
    const single = await call('POST', '/v1/experiment', { name: 'probe-single', dataset: 'probe', model: chat(), judge_model: judge(), metrics });
    expect(single.status).toBe(200);
    expect(single.body.model.has_api_key).toBe(true);
    const explicit = await call('POST', '/v1/experiment_set', { name: 'probe-explicit', readme: '', experiments: [{ name: 'e1', dataset: 'probe', model: chat(), judge_model: judge(), metrics }] });
    expect(explicit.status).toBe(200);
    const grid = await call('POST', '/v1/experiment_set', {
      name: 'probe-grid',
      readme: '',
      cv: {
        common_params: { dataset: 'probe', model: chat(), judge_model: judge(), metrics },
        grid_params: { model: [{ sampling_params: { temperature: 0 } }, { api_key: PROBE, sampling_params: { temperature: 1 } }] },
        repeat: 1,
      },
    });
    expect(grid.status).toBe(200);
    expect(grid.body.cv.common_params.model).toEqual(expect.objectContaining({ has_api_key: true }));
    expect(grid.body.cv.common_params.model).not.toHaveProperty('api_key');
    expect(grid.body.cv.common_params.judge_model).toEqual(expect.objectContaining({ has_api_key: true }));
    expect((await call('PATCH', `/v1/experiment_set/${explicit.body.id}`, { experiments: [{ name: 'e2', dataset: 'probe', model: chat(), judge_model: judge(), metrics }] })).status).toBe(200);
    const schedule = await call('POST', '/v1/schedule', {
      name: 'probe-nightly',
      cron: '0 3 * * *',
      template: { experiments: [{ name: 'nightly', dataset: 'probe', model: chat(), judge_model: judge(), metrics }] },
    });
    expect(schedule.status).toBe(200);
    expect((await call('PATCH', `/v1/schedule/${schedule.body.id}`, { template: { cv: { common_params: { dataset: 'probe', model: chat(), metrics: ['exact_match'] }, grid_params: { metrics: [['exact_match']] } } } })).status).toBe(200);

    // Refused bodies: the 4xx says what is wrong without quoting the key.
    for (const [route, body] of [
      ['/v1/experiment', { name: 'bad-1', dataset: 'probe', model: chat(), metrics: ['no_such_metric'] }],
      ['/v1/experiment', { name: 'bad-2', dataset: 'no-such-dataset', model: chat(), judge_model: judge(), metrics }],
      ['/v1/experiment', { name: 'bad-3', dataset: 'probe', model: { ...chat(), api_key: 42, unknown_field: PROBE }, metrics }],
      ['/v1/experiment_set', { name: 'bad-4', readme: '', cv: { common_params: { dataset: 'probe', model: chat(), metrics }, grid_params: { model: [{ api_key: [PROBE] }] } } }],
      ['/v1/schedule', { name: 'bad-5', cron: 'not a cron', template: { experiments: [{ name: 'x', dataset: 'probe', model: chat(), metrics }] } }],
    ] as const) {
      const res = await call('POST', route, body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    for (const raw of [`{"name": "x", "model": {"api_key": "${PROBE}"`, `{"model": {"api_key": ${PROBE}}}`, `{"api_key": "${PROBE}" "x"}`]) {
      expect((await call('POST', '/v1/experiment', undefined, raw)).status).toBe(400);
    }

    // The runner uses the key; the model echoes it back in its 401s, which are stored as row errors.
    runner = startRunner(api);
    await waitUntil(async () => (await call('GET', `/v1/experiment/${single.body.id}`)).body.experiment_status === 'finished', 60_000, 'the probe experiment to finish');
    expect(model.requests.some((r) => r.authorization === `Bearer ${PROBE}`)).toBe(true);
    expect(model.requests.some((r) => r.status === 401)).toBe(true);

    // Every way of reading it back.
    const reads = [
      `/v1/experiment/${single.body.id}?with_results=true&with_answers=true&with_dataset=true`,
      '/v1/experiments',
      `/v1/experiment_set/${explicit.body.id}`,
      `/v1/experiment_set/${grid.body.id}`,
      '/v1/experiment_sets',
      `/v1/schedule/${schedule.body.id}`,
      '/v1/schedules',
      '/v1/leaderboard?metric_name=exact_match',
      `/v1/compare?set_a=${explicit.body.id}&set_b=${grid.body.id}`,
      '/v1/openapi.json',
    ];
    for (const r of reads) expect((await call('GET', r)).status).toBe(200);
    const answers = (await call('GET', `/v1/experiment/${single.body.id}?with_answers=true`)).body.answers;
    expect(answers.find((a: any) => a.num_line === 1).error_msg).toMatch(/Incorrect API key provided/);
    expect((await call('POST', `/v1/stop/experiment_set/${grid.body.id}`)).status).toBe(200);
    expect((await call('POST', `/v1/retry/experiment_set/${explicit.body.id}`)).status).toBe(200);

    runner.kill('SIGTERM');
    await runner.exited;

    // Responses and logs.
    expect(leaks(responses.join('\n'))).toEqual([]);
    expect(apiLogs.length).toBeGreaterThan(10);
    expect(leaks(apiLogs.join('\n'))).toEqual([]);
    expect(runner.logs.length).toBeGreaterThan(3);
    expect(leaks(JSON.stringify(runner.logs) + runner.stderr.join('\n'))).toEqual([]);

    // Every stored value of every table, as text (what a dump holds).
    const { rows: tables } = await api.pool.query<{ t: string }>(`SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
    expect(tables.length).toBeGreaterThan(8);
    for (const { t } of tables) {
      const { rows } = await api.pool.query<{ v: string }>(`SELECT x::text AS v FROM ${t} x`);
      expect({ table: t, leaks: leaks(rows.map((r) => r.v).join('\n')) }).toEqual({ table: t, leaks: [] });
    }

    // The files themselves: heap, indexes, TOAST and the write-ahead log, after a checkpoint.
    await api.pool.query('CHECKPOINT');
    const dataDir = process.env.EVALAP_DATA_DIR!;
    const found: string[] = [];
    const probe = Buffer.from(PROBE);
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.isFile() && fs.readFileSync(file).includes(probe)) found.push(path.relative(dataDir, file));
      }
    };
    walk(dataDir);
    // Name the relation a data file belongs to, so a failure says which table (a dead row counts too).
    const files = found.filter((f) => f.includes('base/')).map((f) => Number(path.basename(f)));
    const { rows: relations } = await api.pool.query<{ rel: string }>('SELECT oid::regclass::text AS rel FROM pg_class WHERE relfilenode = ANY($1::oid[])', [files]);
    expect({ found, relations: relations.map((r) => r.rel) }).toEqual({ found: [], relations: [] });
  });
});
