/**
 * Test harness: a fresh database and queue per test file on the shared local
 * servers, and the real API handler served by the real local HTTP adapter.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { loadConfig } from '../../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../../core/context.js';
import { createLogger } from '../../core/logger.js';
import { migrate } from '../../core/store/migrate.js';
import { createPool, pgDatabase } from '../../core/store/pool.js';
import { createApiHandler } from '../../functions/api/handler.js';
import { createApiServer, listen } from '../../local/http-server.js';
import { ensureQueues } from '../../local/sqs.js';
import { localDataApiDatabase } from '../../local/stack.js';

/** Where a test's API finds its servers: jest's global setup's shared ones, or a test's own (support/own-stack.ts). */
export interface TestServers {
  /** A URL of the PostgreSQL server; each API gets a new database on it. */
  databaseUrl: string;
  sqsEndpoint: string;
  /** The local Data API over that server. */
  dataApiEndpoint: string;
}

/** The servers jest's global setup started for every test file. */
export function sharedServers(): TestServers {
  return { databaseUrl: process.env.DATABASE_URL!, sqsEndpoint: process.env.SQS_ENDPOINT!, dataApiEndpoint: process.env.RDS_DATA_ENDPOINT! };
}

export const sqsClient = (endpoint = process.env.SQS_ENDPOINT) => new SQSClient({ endpoint, region: 'us-east-1' });

/** A new, empty database on the shared test server (or on `serverUrl`'s); returns its URL. */
export async function emptyDatabase(serverUrl = process.env.DATABASE_URL!): Promise<string> {
  const base = new URL(serverUrl);
  const name = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: Object.assign(new URL(base), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return Object.assign(new URL(base), { pathname: `/${name}` }).toString();
}

/** A new, migrated database on the shared test server (or on `serverUrl`'s); returns its URL. */
export async function freshDatabase(serverUrl?: string): Promise<string> {
  const url = await emptyDatabase(serverUrl);
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
export function apiDatabase(databaseUrl: string, dataApiEndpoint = process.env.RDS_DATA_ENDPOINT!) {
  return process.env.EVALAP_TEST_DB === 'pg' ? pgDatabase(createPool(databaseUrl, 4)) : localDataApiDatabase(dataApiEndpoint, databaseUrl);
}

export interface TestApi {
  url: string;
  core: CoreContext;
  /** A pg pool on the test's database, to look at what was stored (and for runner-side store functions). */
  pool: pg.Pool;
  queueUrl: string;
  dlqUrl: string;
  databaseUrl: string;
  /** The SQS server the queue is on (the runner's SQS_ENDPOINT). */
  sqsEndpoint: string;
  /** fetch against the API with JSON by default. */
  call(method: string, path: string, options?: { body?: unknown; raw?: string; contentType?: string; key?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  /** Row counts of every table and the queue's message count: what "nothing was written" compares. */
  footprint(): Promise<Record<string, number>>;
  /** Messages on the queue (received, then left to reappear). */
  messages(max?: number): Promise<any[]>;
  purge(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `logLines`, when given, receives every log line the API writes (at debug
 * level). `servers`: where its database and queue are made (the shared
 * servers by default).
 */
export async function startApi(env: Record<string, string> = {}, logLines?: string[], servers: TestServers = sharedServers()): Promise<TestApi> {
  const config = loadConfig({ ...process.env, ...env });
  const sqs = sqsClient(servers.sqsEndpoint);
  const { queueUrl, dlqUrl } = await freshQueue(sqs);
  const databaseUrl = await freshDatabase(servers.databaseUrl);
  const pool = createPool(databaseUrl, 2);
  const core = createCoreContext(config, { db: apiDatabase(databaseUrl, servers.dataApiEndpoint), sqs, queueUrl, logger: logLines ? createLogger({ level: 'debug', write: (l) => logLines.push(l) }) : createLogger({ level: 'silent' }) });
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
    sqsEndpoint: servers.sqsEndpoint,
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
      await closeCoreContext(core);
      await pool.end();
    },
  };
}

/** A pandas-style `df` (records orient) for `n` rows of query/output_true. */
export function makeDf(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  return JSON.stringify(Array.from({ length: n }, (_, i) => ({ query: `question ${i}`, output_true: `answer ${i}`, ...extra(i) })));
}

/** An experiment's counters and aggregates, as stored or as recomputed from its rows. */
export interface Tally {
  experiment: { num_try: number; num_success: number };
  results: { id: number; num_try: number; num_success: number; score_count: number; score_sum: number; score_sumsq: number; score_min: number | null; score_max: number | null }[];
}

/**
 * What an experiment's counters and aggregates say (`stored`) beside the same
 * recomputed from its answer and observation rows (`fromRows`): after any
 * crash or outage the two must be equal. Sums are rounded to 9 places: rows
 * added up in another order may differ in the last bits.
 */
export async function tally(pool: pg.Pool, experimentId: number): Promise<{ stored: Tally; fromRows: Tally }> {
  const one = async (sql: string) => (await pool.query(sql, [experimentId])).rows;
  const [storedExperiment] = await one('SELECT num_try, num_success FROM experiment WHERE id = $1');
  const [experimentFromRows] = await one('SELECT count(*)::int AS num_try, (count(*) FILTER (WHERE error_msg IS NULL))::int AS num_success FROM answer WHERE experiment_id = $1');
  const storedResults = await one(
    `SELECT id, num_try, num_success, score_count, round(score_sum::numeric, 9)::float8 AS score_sum, round(score_sumsq::numeric, 9)::float8 AS score_sumsq, score_min, score_max
     FROM result WHERE experiment_id = $1 ORDER BY id`,
  );
  const resultsFromRows = await one(
    `SELECT r.id, count(o.num_line)::int AS num_try, (count(o.num_line) FILTER (WHERE o.error_msg IS NULL))::int AS num_success,
            (count(o.score) FILTER (WHERE o.error_msg IS NULL))::int AS score_count,
            round(coalesce(sum(o.score) FILTER (WHERE o.error_msg IS NULL), 0)::numeric, 9)::float8 AS score_sum,
            round(coalesce(sum(o.score * o.score) FILTER (WHERE o.error_msg IS NULL), 0)::numeric, 9)::float8 AS score_sumsq,
            min(o.score) FILTER (WHERE o.error_msg IS NULL) AS score_min, max(o.score) FILTER (WHERE o.error_msg IS NULL) AS score_max
     FROM result r LEFT JOIN observation o ON o.result_id = r.id WHERE r.experiment_id = $1 GROUP BY r.id ORDER BY r.id`,
  );
  return { stored: { experiment: storedExperiment, results: storedResults }, fromRows: { experiment: experimentFromRows, results: resultsFromRows } };
}
