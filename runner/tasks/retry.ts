/**
 * A retry task (POST /v1/retry/...): forgets the experiment's failures, then
 * enqueues a fan-out of the rows left missing. Database and queue work, run
 * by the runner's main thread, not a worker.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { enqueue, type Task } from '../../core/queue.js';
import { resetFailures } from '../../core/store/work.js';

export interface RetryDeps {
  pool: pg.Pool;
  sqs: SQSClient;
  queueUrl: string;
}

/** Runs a retry task; a stopped or missing experiment is left as it is. */
export async function runRetry(deps: RetryDeps, task: Extract<Task, { type: 'retry' }>): Promise<void> {
  if (await resetFailures(deps.pool, task.experiment_id)) {
    await enqueue(deps.sqs, deps.queueUrl, [{ type: 'fanout', experiment_id: task.experiment_id, stage: 'answers', from: 0, missing_only: true }]);
  }
}
