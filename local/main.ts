/**
 * `npm start`: the whole platform on this machine, with no AWS account.
 * Ctrl-C stops everything in order; a second Ctrl-C forces the exit.
 */
import { loadConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { startPlatform } from './platform.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL });
  const started = startPlatform(config, logger, process.env);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    // A signal during start-up: stop what started once it has (PostgreSQL runs in its own process group and would outlive us).
    const running = await started.catch(() => undefined);
    await running?.stop();
    process.exit(0);
  };
  const onSignal = () => {
    if (stopping) {
      process.stderr.write('forced exit\n');
      process.exit(1);
    }
    void shutdown();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // `evalap serve | tee log` and Ctrl-C: tee may die first, and every later
  // write to the pipe fails with EPIPE (Node ignores SIGPIPE, so the failure
  // comes as an 'error' event, which would crash us and leave PostgreSQL
  // running). A closed output is a reason to stop in order, not to crash.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
      void shutdown();
    });
  }
  const platform = await started;
  if (stopping) return;
  process.stderr.write(`Evalap API on ${platform.url}${platform.open ? ' (open: no API keys configured, loopback only)' : ''}, web interface at ${platform.url}/, API docs at ${platform.url}/docs. Ctrl-C stops it.\n`);
}

main().catch((err: unknown) => {
  // Start-up failures are one line that says what to fix, never a stack trace.
  const prefix = err instanceof ConfigError ? 'configuration error' : 'cannot start';
  process.stderr.write(`${prefix}: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
