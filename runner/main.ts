/**
 * The runner process (a Fargate task; `npm run runner` locally). Run as a
 * script, it starts from the environment only; SIGTERM stops it gracefully
 * and it exits 0. Imported, it starts nothing until runRunner is
 * called, which also takes what the environment cannot give (a worker script).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import os from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../core/config.js';
import { closeCoreContext, createCoreContext, openPool } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import { migrate } from '../core/store/migrate.js';
import { pgDatabase } from '../core/store/pool.js';
import { Runner } from './runner.js';

/** The DLQ named by the queue's redrive policy, if it has one. */
async function findDlq(sqs: SQSClient, queueUrl: string): Promise<string | undefined> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
  const policy = out.Attributes?.RedrivePolicy;
  if (!policy) return undefined;
  const arn: string = JSON.parse(policy).deadLetterTargetArn;
  const name = arn.split(':').pop()!;
  return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
}

/**
 * Bounded heaps. At full speed V8 let the runner's committed heap grow to
 * several times its live data over a long run: growing the old generation by
 * 10% per full GC and giving worker threads 2 MB semi-spaces keeps the peak
 * close to a short run's (bench scenario rss) for a few percent more GC time. Set before the worker
 * threads start: their isolates read the semi-space size when they are made.
 */
function boundHeaps(): void {
  v8.setFlagsFromString('--heap-growing-percent=10');
  v8.setFlagsFromString('--max-semi-space-size=2');
}

export interface RunnerProcessOptions {
  /** The module each worker thread runs. @defaultvalue the worker.js bundled beside this file */
  workerScript?: URL;
}

async function main(options: RunnerProcessOptions): Promise<void> {
  boundHeaps();
  const config = loadConfig();
  // The runner holds connections (a pool) where the Lambdas use the Data API; in AWS it logs in with the secret's current password.
  const pool = openPool(config);
  const core = createCoreContext(config, { db: pgDatabase(pool) });
  // The runner may be the first to reach a new database (locally; in AWS the deploy migrated it).
  await migrate(pool, { secrets: core.secrets });
  // The main thread (SQS, PostgreSQL, the bus) keeps a core of its own: on 2 vCPUs, a second
  // worker thread only competes with it (measured: slower refills, more CPU per task).
  const threads = config.RUNNER_WORKER_THREADS ?? Math.max(1, Math.min(os.availableParallelism() - 1, config.MAX_CONCURRENT_TASKS));
  const dlqUrl = config.DLQ_URL ?? (await findDlq(core.sqs, core.queueUrl).catch(() => undefined));
  if (!dlqUrl) core.logger.warn('dlq_unknown', { detail: 'no DLQ_URL and no redrive policy: unparseable messages are set aside for an hour instead' });
  const busDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-bus-'));
  const runner = new Runner({
    config,
    pool,
    sqs: core.sqs,
    queueUrl: core.queueUrl,
    dlqUrl,
    secrets: core.secrets,
    logger: core.logger,
    workerScript: options.workerScript ?? new URL('./worker.js', import.meta.url),
    busAddress: `ipc://${path.join(busDir, 'bus.sock')}`,
    threads,
  });
  await runner.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    core.logger.info('signal_received', { signal });
    await runner.close();
    await closeCoreContext(core).catch(() => undefined);
    fs.rmSync(busDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Starts the runner in this process; a failure to start ends the process with code 1 and one line on stderr. */
export function runRunner(options: RunnerProcessOptions = {}): void {
  main(options).catch((err: unknown) => {
    const prefix = err instanceof ConfigError ? 'configuration error' : 'runner cannot start';
    process.stderr.write(`${prefix}: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  });
}

/** Whether node was asked to run this file (the image's CMD), not a script that imports it. */
function isEntryScript(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  // node loads the main module from its real path (symlinks resolved, `.js` added if it was left off), which import.meta.url names.
  const real = (file: string) => { try { return fs.realpathSync(path.resolve(file)); } catch { return undefined; } };
  const self = fileURLToPath(import.meta.url);
  return [entry, `${entry}.js`].some((file) => real(file) === self);
}

if (isEntryScript()) runRunner();
