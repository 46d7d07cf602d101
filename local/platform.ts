/**
 * The whole platform on this machine: the local servers (unless configured
 * elsewhere), the runner as a child process, and the API served over HTTP.
 * `npm start` and the CLI's embedded mode both run this.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { apiKeys, type Config } from '../core/config.js';
import { closeCoreContext, createCoreContext, secretBox, sqsClient } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { createPool } from '../core/store/pool.js';
import { sweep } from '../core/sweeper.js';
import { createApiHandler } from '../functions/api/handler.js';
import { createApiServer, listen } from './http-server.js';
import { assertPortFree, PortInUseError } from './ports.js';
import { startRunnerProcesses } from './runner-processes.js';
import { localDataApiDatabase, startLocalServers } from './stack.js';
import { startLocalCron } from './cron.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface Platform {
  url: string;
  /** True when no API key is configured. */
  open: boolean;
  /** Stops the API, then the runner (which finishes or hands back its tasks), then the servers. Memoized. */
  stop(): Promise<void>;
}

/** `runnerOutput` receives the runner's log lines (default: stdout). */
export async function startPlatform(config: Config, logger: Logger, env: NodeJS.ProcessEnv, runnerOutput?: (line: string) => void): Promise<Platform> {
  const keys = apiKeys(config);
  const open = keys.user.length === 0 && !keys.admin;
  if (open && !LOOPBACK.has(config.HOST)) {
    throw new ConfigError('EVALAP_API_KEYS', `must be set (or EVALAP_ADMIN_KEY) when HOST=${config.HOST} is not a loopback address`);
  }
  await assertPortFree(config.PORT, config.HOST, 'PORT');
  const secrets = secretBox(config);

  const stack = await startLocalServers({
    dataDir: config.EVALAP_DATA_DIR,
    pgPort: config.EVALAP_PG_PORT,
    sqsPort: config.EVALAP_SQS_PORT,
    queueName: config.QUEUE_NAME,
    databaseUrl: config.DATABASE_URL,
    sqsEndpoint: config.SQS_ENDPOINT,
    queueUrl: config.QUEUE_URL,
    secrets,
  });
  // The embedded SQS server takes any credentials; a real endpoint gets the default chain.
  const localCredentials = stack.sqsEndpoint !== undefined && !config.SQS_ENDPOINT;
  const sqs = sqsClient(config, stack.sqsEndpoint, localCredentials ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined);
  // The API reaches PostgreSQL through the local Data API, as the Lambda does in AWS; the runner through a pool.
  const core = createCoreContext(config, { db: localDataApiDatabase(stack.dataApiEndpoint, stack.databaseUrl), sqs, queueUrl: stack.queueUrl, secrets, logger });
  if (localCredentials) await sweepLostWork(config, logger, sqs, stack);
  const runner = startRunnerProcesses(
    config.RUNNER_PROCESSES,
    {
      ...env,
      DATABASE_URL: stack.databaseUrl,
      QUEUE_URL: stack.queueUrl,
      ...(stack.sqsEndpoint ? { SQS_ENDPOINT: stack.sqsEndpoint } : {}),
      ...(stack.dlqUrl ? { DLQ_URL: stack.dlqUrl } : {}),
      ...(localCredentials ? { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' } : {}),
    },
    logger,
    runnerOutput,
  );
  const cron = startLocalCron(core);
  const server = createApiServer(createApiHandler({ config, core, healthChecks: { runner: () => runner.check() } }), config.EVALAP_MAX_BODY_BYTES);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('stack_stopping', {});
      cron.stop();
      // The runner first, so one that got the terminal's Ctrl-C too is not restarted.
      const runnerStopped = runner.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await runnerStopped;
      await closeCoreContext(core).catch(() => undefined);
      await stack.stop();
      logger.info('stack_stopped', {});
    })());
  let port: number;
  try {
    port = await listen(server, config.PORT, config.HOST);
  } catch (err) {
    await stop();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(config.PORT, config.HOST, 'PORT');
    throw err;
  }
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  logger.info('stack_started', { api: url, queue: stack.queueUrl, database: stack.databaseUrl.replace(/\/\/[^@]*@/, '//***@'), open });
  return { url, open, stop };
}

/**
 * The embedded SQS server keeps its messages in memory: on a fresh start
 * the work of every unfinished experiment is gone from the queue, so it is
 * enqueued again now rather than after the stall bound.
 */
async function sweepLostWork(config: Config, logger: Logger, sqs: SQSClient, stack: { databaseUrl: string; queueUrl: string; dlqUrl?: string }): Promise<void> {
  const pool = createPool(stack.databaseUrl, 1);
  try {
    const report = await sweep({ pool, sqs, queueUrl: stack.queueUrl, dlqUrl: stack.dlqUrl, logger, stallAfterSec: 0, maxRequeues: config.EVALAP_STALL_REQUEUES });
    if (report.requeued.length || report.gaveUp.length) logger.info('unfinished_work_requeued', { experiments: report.requeued, given_up: report.gaveUp });
  } catch (err) {
    // The runners' periodic sweep will do it: starting matters more.
    logger.warn('sweep_failed', { error: (err as Error).message });
  } finally {
    await pool.end();
  }
}
