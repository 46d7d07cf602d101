/**
 * What the API answers when what it depends on is not there yet: a database
 * resuming from pause or unreachable, a secret that cannot be read, a wrong
 * configuration. Always a problem+json document (503 with Retry-After for
 * what passes), never an error thrown past the handler; and authentication
 * (and a key-less health check) comes before anything touches the database.
 */
import { jest } from '@jest/globals';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { loadConfig } from '../../core/config.js';
import { createCoreContext } from '../../core/context.js';
import { createLogger } from '../../core/logger.js';
import type { Database } from '../../core/store/db.js';
import { createPool, pgDatabase } from '../../core/store/pool.js';
import { createApiHandler, handler as lambdaHandler, type ApiHandler } from '../../functions/api/handler.js';
import { startDataApiServer } from '../../local/data-api.js';
import { localDataApiDatabase } from '../../local/stack.js';
import { freshDatabase, freshQueue, sqsClient } from '../support/api.js';

jest.setTimeout(60_000);

const secretsManager = mockClient(SecretsManagerClient);
afterAll(() => secretsManager.restore());

const USER_KEY = 'user-key-aaaaaaaaaaaaaaaa';
const SECOND_KEY = 'user-key-bbbbbbbbbbbbbbbb';

function event(method: string, path: string, key?: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: key ? { authorization: `Bearer ${key}` } : {},
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' } } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
  };
}
const context = {} as Context;

/** A database that fails the test if anything queries it. */
const untouchable = (): Database & { used: number } => {
  const db = {
    kind: 'pg' as const,
    used: 0,
    async query(): Promise<never> {
      db.used += 1;
      throw new Error('the database was touched');
    },
    async transaction(): Promise<never> {
      db.used += 1;
      throw new Error('the database was touched');
    },
    close: async () => undefined,
  };
  return db;
};

async function apiWith(db: Database, env: Record<string, string> = {}): Promise<ApiHandler> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', ...env });
  const { queueUrl } = await freshQueue(sqsClient());
  return createApiHandler({ config, core: createCoreContext(config, { db, sqs: sqsClient(), queueUrl, logger: createLogger({ level: 'silent' }) }) });
}

const parse = (res: { statusCode?: number; headers?: Record<string, unknown>; body?: string }) => ({ status: res.statusCode, headers: res.headers ?? {}, body: JSON.parse(res.body ?? 'null') });

describe('authentication and health come before the database', () => {
  it('answers GET /health without a key from the process alone, and checks everything with one', async () => {
    const db = untouchable();
    const api = await apiWith(db, { EVALAP_API_KEYS: USER_KEY });
    const open = parse(await api(event('GET', '/health'), context));
    expect(open.status).toBe(200);
    expect(open.body.checks).toEqual({ api: expect.objectContaining({ ok: true }) });
    expect(db.used).toBe(0);
    const full = parse(await api(event('GET', '/health', USER_KEY), context));
    expect(full.status).toBe(503);
    expect(full.body.checks.database).toEqual(expect.objectContaining({ ok: false }));
    expect(db.used).toBe(1);
  });

  it('refuses a request without a valid key before touching the database', async () => {
    const db = untouchable();
    const api = await apiWith(db, { EVALAP_API_KEYS: USER_KEY });
    expect(parse(await api(event('GET', '/v1/datasets'), context)).status).toBe(401);
    expect(parse(await api(event('GET', '/v1/datasets', 'wrong-key-cccccccccccccc'), context)).status).toBe(401);
    expect(db.used).toBe(0);
  });
});

describe('an unavailable dependency is a 503 with Retry-After', () => {
  it('while Aurora resumes from pause (the Data API\'s DatabaseResumingException), then serves again', async () => {
    const url = await freshDatabase();
    const server = await startDataApiServer({ databaseUrl: url, host: '127.0.0.1', port: 0 });
    try {
      const api = await apiWith(localDataApiDatabase(server.endpoint, url));
      server.resumeDelay(60_000);
      const paused = parse(await api(event('GET', '/v1/datasets'), context));
      expect(paused.status).toBe(503);
      expect(paused.headers['content-type']).toBe('application/problem+json');
      expect(Number(paused.headers['retry-after'])).toBeGreaterThan(0);
      expect(paused.body.detail).toMatch(/resuming/);
      server.resumeDelay(0);
      expect(parse(await api(event('GET', '/v1/datasets'), context)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('when the Data API cannot log in with the database secret (a wrong password in it)', async () => {
    const url = await freshDatabase();
    const server = await startDataApiServer({ databaseUrl: url, host: '127.0.0.1', port: 0, credentials: async () => ({ username: new URL(url).username, password: 'not-the-password' }) });
    try {
      const api = await apiWith(localDataApiDatabase(server.endpoint, url));
      const res = parse(await api(event('GET', '/v1/datasets'), context));
      expect(res).toMatchObject({ status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '5' }, body: { detail: expect.stringMatching(/database cannot be reached/) } });
      expect(JSON.stringify(res.body)).not.toMatch(/password|28P01/);
    } finally {
      await server.close();
    }
  });

  it.each([
    ['nothing listens on its port', 'postgresql://nobody:x@127.0.0.1:1/none'],
    ['the TLS handshake fails', `${process.env.DATABASE_URL}?sslmode=require`],
    ['its password is wrong', process.env.DATABASE_URL!.replace(/:[^:@/]+@/, ':wrong-password@')],
  ])('when %s', async (_, url) => {
    const api = await apiWith(pgDatabase(createPool(url, 1)));
    const res = parse(await api(event('GET', '/v1/datasets'), context));
    expect(res).toMatchObject({ status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '5' }, body: { status: 503, detail: expect.stringMatching(/database cannot be reached/) } });
    // The cause is logged, not shown.
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|password|SSL/);
  });

  it('when the API keys secret cannot be read, except for a key-less health check', async () => {
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const db = untouchable();
    const api = await apiWith(db, { EVALAP_API_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:keys-unreadable' });
    const res = parse(await api(event('GET', '/v1/datasets', USER_KEY), context));
    expect(res).toMatchObject({ status: 503, headers: { 'retry-after': '5' }, body: { detail: expect.stringMatching(/keys-unreadable cannot be read \(AccessDeniedException\)/) } });
    expect(parse(await api(event('GET', '/health'), context)).status).toBe(200);
    expect(db.used).toBe(0);
  });
});

describe('API keys read from Secrets Manager', () => {
  it('stop working on a warm API once revoked in the secret, within the cache time', async () => {
    secretsManager.reset();
    let keys = `${USER_KEY},${SECOND_KEY}`;
    secretsManager.on(GetSecretValueCommand).callsFake(() => ({ SecretString: JSON.stringify({ EVALAP_API_KEYS: keys }) }));
    const url = await freshDatabase();
    const api = await apiWith(pgDatabase(createPool(url, 1)), { EVALAP_API_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:keys-revoked', EVALAP_SECRET_TTL_SEC: '1' });
    expect(parse(await api(event('GET', '/v1/datasets', USER_KEY), context)).status).toBe(200);
    keys = SECOND_KEY;
    // Served from the cache until it expires...
    expect(parse(await api(event('GET', '/v1/datasets', USER_KEY), context)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    // ...then the revoked key is refused and the other one still works.
    expect(parse(await api(event('GET', '/v1/datasets', USER_KEY), context)).status).toBe(401);
    expect(parse(await api(event('GET', '/v1/datasets', SECOND_KEY), context)).status).toBe(200);
  });
});

describe('the Lambda entry point', () => {
  it('answers a wrong configuration with a problem document instead of throwing', async () => {
    const saved = process.env.MAX_CONCURRENT_TASKS;
    process.env.MAX_CONCURRENT_TASKS = 'lots';
    try {
      const res = parse(await lambdaHandler(event('GET', '/v1/datasets'), context));
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toBe('application/problem+json');
    } finally {
      if (saved === undefined) delete process.env.MAX_CONCURRENT_TASKS;
      else process.env.MAX_CONCURRENT_TASKS = saved;
    }
  });
});
