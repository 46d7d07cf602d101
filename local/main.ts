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
  const platform = await startPlatform(config, logger, process.env);
  process.stderr.write(`Evalap API on ${platform.url}${platform.open ? ' (open: no API keys configured, loopback only)' : ''}. Ctrl-C stops it.\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) {
      process.stderr.write('forced exit\n');
      process.exit(1);
    }
    stopping = true;
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  // Start-up failures are one line that says what to fix, never a stack trace.
  const prefix = err instanceof ConfigError ? 'configuration error' : 'cannot start';
  process.stderr.write(`${prefix}: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
