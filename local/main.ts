/**
 * `npm start`: the whole platform on this machine, with no AWS account.
 * Starts PostgreSQL and the SQS-compatible server (unless DATABASE_URL /
 * SQS_ENDPOINT / QUEUE_URL point elsewhere), migrates, serves the API on
 * HOST:PORT. Ctrl-C stops everything in reverse order.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { apiKeys, loadConfig } from '../core/config.js';
import { closeCore, createCore } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createPool } from '../core/store/pool.js';
import { createApiHandler } from '../functions/api/handler.js';
import { createApiServer, listen } from './http-server.js';
import { assertPortFree, PortInUseError } from './ports.js';
import { startRunnerProcess } from './runner-process.js';
import { startLocalServers } from './stack.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL });
  const keys = apiKeys(config);
  const open = keys.user.length === 0 && !keys.admin;
  if (open && !LOOPBACK.has(config.HOST)) {
    throw new ConfigError('EVALAP_API_KEYS', `must be set (or EVALAP_ADMIN_KEY) when HOST=${config.HOST} is not a loopback address`);
  }
  await assertPortFree(config.PORT, config.HOST, 'PORT');

  const stack = await startLocalServers({
    dataDir: config.EVALAP_DATA_DIR,
    pgPort: config.EVALAP_PG_PORT,
    sqsPort: config.EVALAP_SQS_PORT,
    queueName: config.QUEUE_NAME,
    databaseUrl: config.DATABASE_URL,
    sqsEndpoint: config.SQS_ENDPOINT,
    queueUrl: config.QUEUE_URL,
  });
  // The embedded SQS server takes any credentials; a real endpoint gets the default chain.
  const sqs = new SQSClient({
    region: config.AWS_REGION,
    endpoint: stack.sqsEndpoint,
    ...(stack.sqsEndpoint && !config.SQS_ENDPOINT ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  const core = createCore(config, { pool: createPool(stack.databaseUrl), sqs, queueUrl: stack.queueUrl, logger });
  // The runner gets the same servers; the embedded SQS server takes any credentials.
  const runner = startRunnerProcess(
    {
      ...process.env,
      DATABASE_URL: stack.databaseUrl,
      QUEUE_URL: stack.queueUrl,
      ...(stack.sqsEndpoint ? { SQS_ENDPOINT: stack.sqsEndpoint } : {}),
      ...(stack.dlqUrl ? { DLQ_URL: stack.dlqUrl } : {}),
      ...(stack.sqsEndpoint && !config.SQS_ENDPOINT ? { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' } : {}),
    },
    logger,
  );
  const server = createApiServer(createApiHandler({ config, core, healthChecks: { runner: () => runner.check() } }), config.EVALAP_MAX_BODY_BYTES);
  let port: number;
  try {
    port = await listen(server, config.PORT, config.HOST);
  } catch (err) {
    await runner.stop();
    await closeCore(core);
    await stack.stop();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(config.PORT, config.HOST, 'PORT');
    throw err;
  }
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  logger.info('stack_started', { api: url, queue: stack.queueUrl, database: stack.databaseUrl.replace(/\/\/[^@]*@/, '//***@'), open });
  process.stderr.write(`Evalap API on ${url}${open ? ' (open: no API keys configured, loopback only)' : ''}. Ctrl-C stops it.\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      process.stderr.write('forced exit\n');
      process.exit(1);
    }
    stopping = true;
    logger.info('stack_stopping', { signal });
    // First, so a runner that got the terminal's Ctrl-C too is not restarted.
    const runnerStopped = runner.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await runnerStopped;
    await closeCore(core).catch(() => undefined);
    await stack.stop();
    logger.info('stack_stopped', {});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  // Start-up failures are one line that says what to fix, never a stack trace.
  const prefix = err instanceof ConfigError ? 'configuration error' : 'cannot start';
  process.stderr.write(`${prefix}: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
