/**
 * What the core's operations need, built once per process (module scope in
 * Lambda) from the configuration: the database, the SQS client, the queue
 * URL, the box that seals provider keys, the logger. Building it opens no
 * connection and calls no service: the first query or send does.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { type Config } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import { eventBridgeScheduler, localScheduler, type SchedulerBackend } from './schedules/eventbridge.js';
import { databasePassword, secretSource, type SecretSource } from './secret-source.js';
import { createSecretBox, kmsSecretBox, localSecretKey, type SecretBox } from './secrets.js';
import { dataApiDatabase } from './store/data-api.js';
import type { Database } from './store/db.js';
import { createPool, pgDatabase } from './store/pool.js';

export interface CoreContext {
  config: Config;
  db: Database;
  sqs: SQSClient;
  queueUrl: string;
  secrets: SecretBox;
  logger: Logger;
  /** Where schedules fire: EventBridge Scheduler in AWS, nothing to register locally. */
  scheduler: SchedulerBackend;
}

/** Reads Secrets Manager through the process's one cache (one per TTL and region, as configurations differ only in tests). */
export function processSecrets(config: Config): SecretSource {
  const key = `${config.EVALAP_SECRET_TTL_SEC}:${config.AWS_REGION}`;
  let source = sources.get(key);
  if (!source) sources.set(key, (source = secretSource({ ttlSec: config.EVALAP_SECRET_TTL_SEC, region: config.AWS_REGION })));
  return source;
}
const sources = new Map<string, SecretSource>();

/**
 * A `pg` pool on DATABASE_URL (or the PG* variables). With DATABASE_SECRET_ARN
 * and no PGPASSWORD (the runner in AWS) it logs in with the secret's current
 * password, so a rotation needs no restart.
 */
/**
 * The SQS client: at `endpoint` (default SQS_ENDPOINT, else AWS's), with
 * `credentials` if given (else the default chain). The SDK's default socket
 * timeout for SQS is 15 minutes: a server that stops answering (rather than
 * refusing) would hang launches and polls that long. A long poll waits
 * RUNNER_POLL_WAIT_SEC.
 */
export function sqsClient(config: Config, endpoint = config.SQS_ENDPOINT, credentials?: { accessKeyId: string; secretAccessKey: string }): SQSClient {
  return new SQSClient({
    region: config.AWS_REGION,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    requestHandler: { connectionTimeout: 3000, requestTimeout: (config.RUNNER_POLL_WAIT_SEC + 10) * 1000 },
  });
}

export function openPool(config: Config, secrets: () => SecretSource = () => processSecrets(config), size = 10): pg.Pool {
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL', 'is required (or PGHOST, or DATABASE_RESOURCE_ARN)');
  const arn = config.DATABASE_SECRET_ARN;
  if (arn && !config.PGPASSWORD) return createPool({ url: config.DATABASE_URL, password: (refresh) => databasePassword(secrets(), arn, refresh) }, size);
  return createPool(config.DATABASE_URL, size);
}

/** The database the configuration names: the RDS Data API with DATABASE_RESOURCE_ARN (the Lambdas: no connection held), else a pool. */
export function openDatabase(config: Config, secrets?: () => SecretSource): Database {
  if (!config.DATABASE_RESOURCE_ARN) return pgDatabase(openPool(config, secrets));
  if (!config.DATABASE_SECRET_ARN) throw new ConfigError('DATABASE_SECRET_ARN', 'is required with DATABASE_RESOURCE_ARN (the Data API logs in with it)');
  return dataApiDatabase({
    client: new RDSDataClient({ region: config.AWS_REGION, ...(config.RDS_DATA_ENDPOINT ? { endpoint: config.RDS_DATA_ENDPOINT } : {}) }),
    resourceArn: config.DATABASE_RESOURCE_ARN,
    secretArn: config.DATABASE_SECRET_ARN,
    database: config.PGDATABASE,
  });
}

/** The box that seals provider keys: KMS in AWS; locally a key from the environment or a key file (created only if needed). */
export function secretBox(config: Config): SecretBox {
  return config.EVALAP_KMS_KEY_ID
    ? kmsSecretBox(new KMSClient({ region: config.AWS_REGION }), config.EVALAP_KMS_KEY_ID)
    : createSecretBox(config.EVALAP_SECRET_KEY ? Buffer.from(config.EVALAP_SECRET_KEY, 'base64') : localSecretKey(config.EVALAP_DATA_DIR));
}

export function createCoreContext(config: Config, overrides: Partial<CoreContext> = {}): CoreContext {
  if (!config.QUEUE_URL && !overrides.queueUrl) throw new ConfigError('QUEUE_URL', 'is required');
  return {
    config,
    db: overrides.db ?? openDatabase(config),
    sqs: overrides.sqs ?? sqsClient(config),
    queueUrl: overrides.queueUrl ?? config.QUEUE_URL!,
    secrets: overrides.secrets ?? secretBox(config),
    logger: overrides.logger ?? createLogger({ level: config.LOG_LEVEL }),
    scheduler:
      overrides.scheduler ??
      (config.SCHEDULER_LAMBDA_ARN && config.SCHEDULER_ROLE_ARN
        ? eventBridgeScheduler(new SchedulerClient({ region: config.AWS_REGION }), { lambdaArn: config.SCHEDULER_LAMBDA_ARN, roleArn: config.SCHEDULER_ROLE_ARN, group: config.SCHEDULER_GROUP })
        : localScheduler),
  };
}

export async function closeCoreContext(core: CoreContext): Promise<void> {
  core.sqs.destroy();
  await core.db.close();
}
