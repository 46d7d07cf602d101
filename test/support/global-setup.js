// Starts the real local servers once per test run (embedded PostgreSQL in a
// throwaway folder with durability off, the SQS-compatible server, the
// queues, the schema) from the built stack, and hands their addresses to the
// test files through the environment. Plain JS: jest loads it untransformed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startLocalServers } from '../../dist/local/stack.js';

export default async function globalSetup() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-test-'));
  const stack = await startLocalServers({
    dataDir,
    pgPort: await freePort(),
    sqsPort: 0,
    queueName: 'evalap-test-tasks',
    pgSettings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  Object.assign(process.env, {
    DATABASE_URL: stack.databaseUrl,
    RDS_DATA_ENDPOINT: stack.dataApiEndpoint,
    SQS_ENDPOINT: stack.sqsEndpoint,
    QUEUE_URL: stack.queueUrl,
    EVALAP_TEST_DLQ_URL: stack.dlqUrl,
    EVALAP_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  globalThis.__evalapStack = { stack, dataDir };
}
