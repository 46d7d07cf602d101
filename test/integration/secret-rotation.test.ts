/**
 * A database password rotation needs no restart: the role's password is
 * changed in the local PostgreSQL in the middle of a run, Secrets Manager
 * (mocked with aws-sdk-client-mock: the SDK client the code really uses)
 * starts serving the new one, and the API and the runner, each holding a
 * cache of the old secret for an hour, carry on: a refused login (28P01)
 * rereads the secret at once.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { jest } from '@jest/globals';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { loadConfig } from '../../core/config.js';
import { closeCoreContext, createCoreContext, openPool, type CoreContext } from '../../core/context.js';
import { createLogger } from '../../core/logger.js';
import { createApiHandler } from '../../functions/api/handler.js';
import { createApiServer, listen } from '../../local/http-server.js';
import { Runner } from '../../runner/runner.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { waitUntil } from '../support/runner.js';

jest.setTimeout(90_000);

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:rotation-test';
const secretsManager = mockClient(SecretsManagerClient);

let api: TestApi;
let model: StubModelServer;
let role: string;
let password: string;
let secretReads = 0;

beforeAll(async () => {
  api = await startApi();
  model = await startModelServer({ latencyMs: 30 });
  role = `rot_${randomBytes(4).toString('hex')}`;
  password = `first-${randomBytes(8).toString('hex')}`;
  const db = new URL(api.databaseUrl).pathname.slice(1);
  for (const sql of [
    `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`,
    `GRANT CONNECT ON DATABASE ${db} TO ${role}`,
    `GRANT USAGE, CREATE ON SCHEMA public TO ${role}`,
    `GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`,
    `GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`,
  ]) await api.pool.query(sql);
  secretsManager.on(GetSecretValueCommand, { SecretId: ARN }).callsFake(() => {
    secretReads += 1;
    return { SecretString: JSON.stringify({ username: role, password }) };
  });
});
afterAll(async () => {
  secretsManager.restore();
  await model.close();
  await api.close();
});

/** Changes the role's password, serves the new one, and drops every open session of the role so new logins are needed. */
async function rotate(): Promise<string> {
  const previous = password;
  password = `second-${randomBytes(8).toString('hex')}`;
  await api.pool.query(`ALTER ROLE ${role} PASSWORD '${password}'`);
  await api.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
  return previous;
}

describe('a rotated database password', () => {
  let core: CoreContext;
  let server: http.Server;
  let url: string;
  let runner: Runner;
  let busDir: string;

  beforeAll(async () => {
    const u = new URL(api.databaseUrl);
    // No password anywhere but in the (mocked) secret; the cache would keep the old one for an hour.
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: `postgresql://${role}@${u.host}${u.pathname}`,
      DATABASE_SECRET_ARN: ARN,
      EVALAP_SECRET_TTL_SEC: '3600',
      QUEUE_URL: api.queueUrl,
      LOG_LEVEL: 'silent',
      MAX_CONCURRENT_TASKS: '4',
      RUNNER_POLL_WAIT_SEC: '1',
    });
    core = createCoreContext(config, { sqs: api.core.sqs, logger: createLogger({ level: 'silent' }) });
    server = createApiServer(createApiHandler({ config, core }), config.EVALAP_MAX_BODY_BYTES);
    url = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
    busDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-rot-'));
    runner = new Runner({
      config,
      pool: openPool(config),
      sqs: api.core.sqs,
      queueUrl: api.queueUrl,
      dlqUrl: api.dlqUrl,
      secrets: core.secrets,
      logger: createLogger({ level: 'silent' }),
      workerScript: pathToFileURL(path.resolve('dist/runner/worker.js')),
      busAddress: `ipc://${path.join(busDir, 'bus.sock')}`,
      threads: 1,
    });
    await runner.start();
  });
  afterAll(async () => {
    await runner.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await closeCoreContext(core);
    fs.rmSync(busDir, { recursive: true, force: true });
  });

  const get = async (route: string) => {
    const res = await fetch(url + route);
    return { status: res.status, body: (await res.json()) as any };
  };

  it('is picked up by the API and the runner in the middle of a run, without a restart', async () => {
    expect((await fetch(url + '/v1/dataset', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rot', readme: '', df: makeDf(60) }) })).status).toBe(200);
    const launched = await fetch(url + '/v1/experiment', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rot-exp', dataset: 'rot', model: { name: 'stub', base_url: model.url }, metrics: ['exact_match'] }),
    });
    expect(launched.status).toBe(200);
    const id = ((await launched.json()) as { id: number }).id;
    await waitUntil(async () => (await get(`/v1/experiment/${id}`)).body.num_try >= 10, 30_000, 'a few answers before the rotation');
    const readsBefore = secretReads;

    const previous = await rotate();
    // The old password no longer logs in: what follows really is the new one.
    const db = new URL(api.databaseUrl);
    const stale = new pg.Client({ connectionString: `postgresql://${role}:${previous}@${db.host}${db.pathname}` });
    await expect(stale.connect()).rejects.toMatchObject({ code: '28P01' });
    await stale.end().catch(() => undefined);

    const done = await waitUntil(async () => {
      const res = await get(`/v1/experiment/${id}?with_results=true`);
      return res.status === 200 && res.body.experiment_status === 'finished' ? res.body : undefined;
    }, 60_000, 'the experiment to finish after the rotation');
    expect(done.num_success).toBe(60);
    expect(done.results[0].num_try).toBe(60);
    // Reread at once on the refused login, not after the hour of cache.
    expect(secretReads).toBeGreaterThan(readsBefore);
    expect((await get('/v1/datasets')).status).toBe(200);
  });
});
