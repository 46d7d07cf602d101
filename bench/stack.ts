/**
 * A benchmark's private stack in a temp folder: embedded PostgreSQL without
 * fsync (what is measured is the platform, not the disk), fauxqs, and the
 * real API handler served over HTTP, reaching the database the way asked.
 */
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../core/config.js';
import { closeCoreContext, createCoreContext, sqsClient, type CoreContext } from '../core/context.js';
import { createLogger } from '../core/logger.js';
import { createPool, pgDatabase } from '../core/store/pool.js';
import { createApiHandler } from '../functions/api/handler.js';
import { createApiServer, listen } from '../local/http-server.js';
import { freePort } from '../local/ports.js';
import { localDataApiDatabase, startLocalServers, type RunningStack } from '../local/stack.js';
import { apiAt, BenchError, type Api } from './api.js';

export interface BenchStackOptions {
  /** Names the temp folder and the queue. */
  name: string;
  /** How the API reaches PostgreSQL: the Data API as the Lambda does, or a pool (to read pg_stat_statements through it). */
  db: 'data-api' | 'pool';
  /** PostgreSQL settings beyond those that turn fsync off. */
  pgSettings?: Record<string, string>;
  /** PostgreSQL's log lines. */
  log?: (line: string) => void;
  /** The API's settings beyond the defaults. */
  env?: Record<string, string>;
}

export interface BenchStack {
  stack: RunningStack;
  core: CoreContext;
  api: Api;
  /** The API's base URL. */
  url: string;
  dataDir: string;
  /** A runner's environment against this stack; SQS through `sqsEndpoint` if given (a counting proxy). */
  runnerEnv(sqsEndpoint?: string): Record<string, string>;
  /** Stops the API, the core and the servers, and removes the folder. Memoized. */
  stop(): Promise<void>;
}

const NO_FSYNC = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function startBenchStack(o: BenchStackOptions): Promise<BenchStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `evalap-${o.name}-`));
  let stack: RunningStack | undefined;
  let core: CoreContext | undefined;
  let server: http.Server | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const s = server;
      if (s) await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
      if (core) await closeCoreContext(core).catch(() => undefined);
      await stack?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    })());
  try {
    const config = loadConfig({ ...o.env, LOG_LEVEL: 'silent', EVALAP_DATA_DIR: dataDir });
    const servers = await startLocalServers({ dataDir, pgPort: await freePort(), sqsPort: 0, queueName: `evalap-${o.name}`, pgSettings: { ...NO_FSYNC, ...o.pgSettings }, log: o.log });
    stack = servers;
    const db = o.db === 'pool' ? pgDatabase(createPool(servers.databaseUrl)) : localDataApiDatabase(servers.dataApiEndpoint, servers.databaseUrl);
    core = createCoreContext(config, { db, sqs: sqsClient(config, servers.sqsEndpoint, LOCAL_CREDENTIALS), queueUrl: servers.queueUrl, logger: createLogger({ level: 'silent' }) });
    server = createApiServer(createApiHandler({ config, core }), config.EVALAP_MAX_BODY_BYTES);
    const url = `http://127.0.0.1:${await listen(server, await freePort(), '127.0.0.1')}`;
    return {
      stack: servers,
      core,
      api: apiAt(url),
      url,
      dataDir,
      runnerEnv: (sqsEndpoint = servers.sqsEndpoint) => ({
        DATABASE_URL: servers.databaseUrl,
        QUEUE_URL: servers.queueUrl,
        ...(servers.dlqUrl ? { DLQ_URL: servers.dlqUrl } : {}),
        ...(sqsEndpoint ? { SQS_ENDPOINT: sqsEndpoint } : {}),
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        EVALAP_DATA_DIR: dataDir,
      }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs one benchmark on its own stack: the stack is stopped at the end and
 * on Ctrl-C, and the process exits 0 when the bench ran (a missed target is a
 * figure it printed, not a failure), 1 on an error.
 */
export function runBench(options: BenchStackOptions, body: (bench: BenchStack, startedAt: number) => Promise<void>): void {
  const startedAt = performance.now();
  const run = async () => {
    const bench = await startBenchStack(options);
    const onSignal = (signal: NodeJS.Signals) => {
      process.stderr.write(`bench: ${signal}, stopping\n`);
      void bench.stop().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await body(bench, startedAt);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await bench.stop();
    }
  };
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof BenchError ? err.message : ((err as Error)?.stack ?? String(err))}\n`);
      process.exit(1);
    },
  );
}
