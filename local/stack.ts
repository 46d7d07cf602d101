/**
 * The local servers the platform needs, started together: PostgreSQL (unless
 * DATABASE_URL points elsewhere), the RDS Data API-compatible server over it
 * (the API reaches the database the way the Lambdas do in AWS), the
 * SQS-compatible server (unless SQS_ENDPOINT does), the queues, and the
 * schema migrated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SecretBox } from '../core/secrets.js';
import { dataApiDatabase } from '../core/store/data-api.js';
import type { Database } from '../core/store/db.js';
import { createPool } from '../core/store/pool.js';
import { migrate } from '../core/store/migrate.js';
import { startDataApiServer } from './data-api.js';
import { startPostgres } from './postgres.js';
import { ensureQueues, startSqs } from './sqs.js';

export interface StackOptions {
  dataDir: string;
  pgPort: number;
  sqsPort: number;
  queueName: string;
  /** Use this database instead of starting the embedded one. */
  databaseUrl?: string;
  /** Use this SQS endpoint instead of starting fauxqs. */
  sqsEndpoint?: string;
  /** Use this queue instead of creating one. */
  queueUrl?: string;
  pgSettings?: Record<string, string>;
  log?: (line: string) => void;
  /** Seals provider keys a migration finds in clear. */
  secrets?: SecretBox;
}

/** Fake ARNs: the local server accepts any; these say what they stand for. */
export const LOCAL_CLUSTER_ARN = 'arn:aws:rds:us-east-1:000000000000:cluster:evalap-local';
export const LOCAL_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:evalap-local-db';

/** The database `databaseUrl` names, reached through the local Data API at `endpoint` as a Lambda reaches Aurora. */
export function localDataApiDatabase(endpoint: string, databaseUrl: string): Database {
  return dataApiDatabase({
    client: new RDSDataClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    resourceArn: LOCAL_CLUSTER_ARN,
    secretArn: LOCAL_SECRET_ARN,
    database: decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres',
  });
}

export interface RunningStack {
  databaseUrl: string;
  /** Where the local Data API answers (see localDataApiDatabase). */
  dataApiEndpoint: string;
  sqsEndpoint: string | undefined;
  queueUrl: string;
  dlqUrl: string | undefined;
  /** Stops what this stack started, in reverse order; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * One stack per data folder: a second one would take the first one's
 * PostgreSQL for an orphan and stop it. The lock names the owning process.
 */
function lockDataDir(dataDir: string): () => Promise<void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'stack.pid');
  const owner = Number(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : NaN);
  if (Number.isInteger(owner) && owner !== process.pid) {
    let alive = true;
    try {
      process.kill(owner, 0);
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`another Evalap stack (pid ${owner}) is using ${dataDir}; stop it, use its API, or set EVALAP_DATA_DIR to another folder`);
  }
  fs.writeFileSync(file, String(process.pid));
  return async () => fs.rmSync(file, { force: true });
}

export async function startLocalServers(options: StackOptions): Promise<RunningStack> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      stops.push(lockDataDir(options.dataDir));
      const pg = await startPostgres({ dataDir: options.dataDir, port: options.pgPort, settings: options.pgSettings, log: options.log });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }
    const pool = createPool(databaseUrl, 1);
    try {
      await migrate(pool, { secrets: options.secrets });
    } finally {
      await pool.end();
    }
    const dataApiServer = await startDataApiServer({ databaseUrl, host: '127.0.0.1', port: 0 });
    stops.push(() => dataApiServer.close());

    let sqsEndpoint = options.sqsEndpoint;
    if (!sqsEndpoint && !options.queueUrl) {
      const sqs = await startSqs(options.sqsPort);
      stops.push(() => sqs.stop());
      sqsEndpoint = sqs.endpoint;
    }
    let queueUrl = options.queueUrl;
    let dlqUrl: string | undefined;
    if (!queueUrl) {
      const client = new SQSClient({ endpoint: sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      ({ queueUrl, dlqUrl } = await ensureQueues(client, options.queueName));
      client.destroy();
    }
    return { databaseUrl, dataApiEndpoint: dataApiServer.endpoint, sqsEndpoint, queueUrl, dlqUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
export { freePort } from './ports.js';
