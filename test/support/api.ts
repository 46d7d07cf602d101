/**
 * Test harness: a fresh database and queue per test file on the shared local
 * servers, and the real API handler served by the real local HTTP adapter.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { loadConfig } from '../../core/config.js';
import { closeCore, createCore, type Core } from '../../core/context.js';
import { createLogger } from '../../core/logger.js';
import { migrate } from '../../core/store/migrate.js';
import { createPool, pgDatabase } from '../../core/store/pool.js';
import { createApiHandler } from '../../functions/api/handler.js';
import { createApiServer, listen } from '../../local/http-server.js';
import { ensureQueues } from '../../local/sqs.js';
import { localDataApiDatabase } from '../../local/stack.js';

export const sqsClient = () => new SQSClient({ endpoint: process.env.SQS_ENDPOINT, region: 'us-east-1' });

/** A new, empty database on the shared test server; returns its URL. */
export async function emptyDatabase(): Promise<string> {
  const base = new URL(process.env.DATABASE_URL!);
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return Object.assign(new URL(base), { pathname: `/${name}` }).toString();
}

/** A new, migrated database on the shared test server; returns its URL. */
export async function freshDatabase(): Promise<string> {
  const url = await emptyDatabase();
  const pool = createPool(url, 1);
  await migrate(pool);
  await pool.end();
  return url;
}

/** A new tasks queue with its DLQ (after 10 receives), as the local stack makes them. */
export async function freshQueue(sqs: SQSClient): Promise<{ queueUrl: string; dlqUrl: string }> {
  return ensureQueues(sqs, `t-${randomUUID()}`, 10);
}

/**
 * The API's database in tests: the local Data API (the Lambdas' path in AWS),
 * or a pg pool with EVALAP_TEST_DB=pg (the path of the runner and of a
 * self-hosted API).
 */
export function apiDatabase(databaseUrl: string) {
  return process.env.EVALAP_TEST_DB === 'pg' ? pgDatabase(createPool(databaseUrl, 4)) : localDataApiDatabase(process.env.RDS_DATA_ENDPOINT!, databaseUrl);
}

export interface TestApi {
  url: string;
  core: Core;
  /** A pg pool on the test's database, to look at what was stored (and for runner-side store functions). */
  pool: pg.Pool;
  queueUrl: string;
  dlqUrl: string;
  databaseUrl: string;
  /** fetch against the API with JSON by default. */
  call(method: string, path: string, options?: { body?: unknown; raw?: string; contentType?: string; key?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  /** Row counts of every table and the queue's message count: what "nothing was written" compares. */
  footprint(): Promise<Record<string, number>>;
  /** Messages on the queue (received, then left to reappear). */
  messages(max?: number): Promise<any[]>;
  purge(): Promise<void>;
  close(): Promise<void>;
}

/** `logLines`, when given, receives every log line the API writes (at debug level). */
export async function startApi(env: Record<string, string> = {}, logLines?: string[]): Promise<TestApi> {
  const config = loadConfig({ ...process.env, ...env });
  const sqs = sqsClient();
  const { queueUrl, dlqUrl } = await freshQueue(sqs);
  const databaseUrl = await freshDatabase();
  const pool = createPool(databaseUrl, 2);
  const core = createCore(config, { db: apiDatabase(databaseUrl), sqs, queueUrl, logger: logLines ? createLogger({ level: 'debug', write: (l) => logLines.push(l) }) : createLogger({ level: 'silent' }) });
  const server: http.Server = createApiServer(createApiHandler({ config, core }), config.EVALAP_MAX_BODY_BYTES);
  const port = await listen(server, 0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const tables = ['dataset', 'dataset_row', 'experiment_set', 'experiment', 'result', 'answer', 'observation'];
  return {
    url,
    core,
    pool,
    queueUrl,
    dlqUrl,
    databaseUrl,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      let body: string | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
      if (o.key) headers.authorization = `Bearer ${o.key}`;
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed, headers: res.headers, text };
    },
    async footprint() {
      const counts: Record<string, number> = {};
      for (const t of tables) counts[t] = (await pool.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n;
      const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      counts.queued = Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      return counts;
    },
    async messages(max = 10) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: max, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
      return (out.Messages ?? []).map((m) => JSON.parse(m.Body!));
    },
    async purge() {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await closeCore(core);
      await pool.end();
    },
  };
}

/** A pandas-style `df` (records orient) for `n` rows of query/output_true. */
export function makeDf(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  return JSON.stringify(Array.from({ length: n }, (_, i) => ({ query: `question ${i}`, output_true: `answer ${i}`, ...extra(i) })));
}
