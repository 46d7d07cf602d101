/**
 * The migration Lambda: run by a CDK Trigger on every deploy whose
 * migrations changed, before the API and the runner are updated, so the
 * schema is never migrated on a request's path. It reaches Aurora through
 * the Data API like the other Lambdas, waits while Aurora resumes from
 * pause, and fails the deploy (by throwing) if a migration fails.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { loadConfig } from '../../core/config.js';
import { openDatabase, secretBox } from '../../core/context.js';
import { UnavailableError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { invocationContext } from '../observability/invocation.js';
import { lambdaLogger } from '../observability/logger.js';
import { migrate } from '../../core/store/migrate.js';
import type { Database } from '../../core/store/db.js';

/** How long to wait for a paused database to resume (Aurora: about 15 s; the Lambda has 5 minutes). */
const RESUME_BUDGET_MS = 4 * 60_000;

export interface MigrateOptions {
  db?: Database;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  logger?: Logger;
}

export async function runMigrations(options: MigrateOptions = {}): Promise<{ applied: number[] }> {
  const config = loadConfig();
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const db = options.db ?? openDatabase(config);
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const deadline = now() + RESUME_BUDGET_MS;
  const secrets = secretBox(config);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await migrate(db, { secrets });
        logger.info('migrations_applied', { applied, attempt });
        return { applied };
      } catch (err) {
        if (!(err instanceof UnavailableError) || now() + err.retryAfterSec * 1000 > deadline) throw err;
        logger.info('database_not_ready', { attempt, retry_in_s: err.retryAfterSec, detail: err.message });
        await sleep(err.retryAfterSec * 1000);
      }
    }
  } finally {
    if (!options.db) await db.close();
  }
}

type MigrateHandler = (event: unknown, context: Context) => Promise<{ applied: number[] }>;

/** The migrations as the Lambda runs them: logging through Powertools Logger, with the invocation's context. */
function migrateLambda(): MigrateHandler {
  const { logger, powertools } = lambdaLogger(loadConfig());
  return middy<unknown, { applied: number[] }>(() => runMigrations({ logger })).use(invocationContext(powertools));
}

let lambda: MigrateHandler | undefined;
export const handler: MigrateHandler = (event, context) => (lambda ??= migrateLambda())(event, context);
