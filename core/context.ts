/**
 * What the core's operations need, built once per process (module scope in
 * Lambda) from the configuration: the pool, the SQS client, the queue URL, the
 * box that seals provider keys, the logger.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { type Config } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { eventBridgeScheduler, localScheduler, type SchedulerBackend } from './scheduler.js';
import { createSecretBox, kmsSecretBox, localSecretKey, type SecretBox } from './secrets.js';
import { createPool } from './store/pool.js';

export interface Core {
  config: Config;
  pool: pg.Pool;
  sqs: SQSClient;
  queueUrl: string;
  secrets: SecretBox;
  logger: Logger;
  /** Where schedules fire: EventBridge Scheduler in AWS, nothing to register locally. */
  scheduler: SchedulerBackend;
}

export function createCore(config: Config, overrides: Partial<Core> = {}): Core {
  if (!config.DATABASE_URL && !overrides.pool) throw new ConfigError('DATABASE_URL', 'is required');
  if (!config.QUEUE_URL && !overrides.queueUrl) throw new ConfigError('QUEUE_URL', 'is required');
  // KMS in AWS; locally a key from the environment or a key file (created only if needed).
  const secrets = () =>
    config.EVALAP_KMS_KEY_ID
      ? kmsSecretBox(new KMSClient({ region: config.AWS_REGION }), config.EVALAP_KMS_KEY_ID)
      : createSecretBox(config.EVALAP_SECRET_KEY ? Buffer.from(config.EVALAP_SECRET_KEY, 'base64') : localSecretKey(config.EVALAP_DATA_DIR));
  return {
    config,
    pool: overrides.pool ?? createPool(config.DATABASE_URL!),
    sqs: overrides.sqs ?? new SQSClient({ region: config.AWS_REGION, ...(config.SQS_ENDPOINT ? { endpoint: config.SQS_ENDPOINT } : {}) }),
    queueUrl: overrides.queueUrl ?? config.QUEUE_URL!,
    secrets: overrides.secrets ?? secrets(),
    logger: overrides.logger ?? createLogger({ level: config.LOG_LEVEL }),
    scheduler:
      overrides.scheduler ??
      (config.SCHEDULER_LAMBDA_ARN && config.SCHEDULER_ROLE_ARN
        ? eventBridgeScheduler(new SchedulerClient({ region: config.AWS_REGION }), { lambdaArn: config.SCHEDULER_LAMBDA_ARN, roleArn: config.SCHEDULER_ROLE_ARN, group: config.SCHEDULER_GROUP })
        : localScheduler),
  };
}

export async function closeCore(core: Core): Promise<void> {
  core.sqs.destroy();
  await core.pool.end();
}
