/**
 * A fan-out task: enqueues one chunk of an experiment's answer (or
 * observation) tasks, then a fan-out of the next chunk. Database and queue
 * work, run by the runner's main thread, not a worker. Idempotent: the
 * continuation goes last, so a redelivery of a task that died half-way
 * redoes its chunk, whose tasks find their rows done.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import type { Logger } from '../../core/logger.js';
import { enqueue, SQS_BATCH_MAX, type Task, type TaskInput } from '../../core/queue.js';
import { fanoutChunk } from '../../core/store/work.js';
import { MAX_RECEIVE_LOOPS } from '../poller.js';

/** Receipts of a fan-out whose experiment is not visible yet before it is taken as rolled back. */
const LAUNCH_RACE_ATTEMPTS = 4;

export interface FanoutDeps {
  pool: pg.Pool;
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
  /** Rows per chunk (EVALAP_FANOUT_CHUNK). */
  chunkSize: number;
  /** The runner's task slots: the head of a run is a first wave for each. */
  slots: number;
  /** Called with the experiment before its tasks are sent: this runner will likely take the first of them. */
  warm: (experimentId: number) => void;
}

/**
 * `sent`: the chunk (and its continuation) is enqueued; `dropped`: the
 * experiment is stopped, or missing for good; `not_visible`: the experiment
 * is not visible yet, look again after a short delay.
 */
export type FanoutResult = 'sent' | 'dropped' | 'not_visible';

/** Runs a fan-out task; `attempt` counts its earlier receipts. */
export async function runFanout(deps: FanoutDeps, task: Extract<Task, { type: 'fanout' }>, attempt: number): Promise<FanoutResult> {
  const { sqs, queueUrl } = deps;
  const chunk = await fanoutChunk(deps.pool, task.experiment_id, task.from, deps.chunkSize, task.missing_only);
  // The API sends a launch's fan-out just before committing the experiment: look again shortly.
  // An experiment still missing after that was rolled back, and its task is dropped.
  if (chunk === 'missing' && attempt < LAUNCH_RACE_ATTEMPTS) return 'not_visible';
  if (typeof chunk !== 'object') return 'dropped';
  const tasks: TaskInput[] = [
    ...chunk.lines.map((num_line) => ({ type: 'answer' as const, experiment_id: task.experiment_id, num_line })),
    // An experiment without a model has no answers: its rows go straight to their observations.
    ...chunk.observations.map((o) => ({ type: 'observation' as const, experiment_id: task.experiment_id, ...o })),
  ];
  const started = Date.now();
  deps.warm(task.experiment_id);
  // One batch after another: parallel streams made bursts that starved the workers of CPU
  // (scenario c32 was further from ideal with 8 streams than with one), and a chunk is still sent far
  // faster than it is worked through. Except the head of a run, a first
  // wave for every slot, sent at once: the limiter waits for a new model's first wave to come
  // back, so the wave's stragglers would idle every slot that finished early.
  const head = task.from === 0 ? Math.ceil(deps.slots / SQS_BATCH_MAX) * SQS_BATCH_MAX : 0;
  // Its batches in parallel: as many as the poller has receive loops to take them at most.
  await enqueue(sqs, queueUrl, tasks.slice(0, head), Math.min(head / SQS_BATCH_MAX, MAX_RECEIVE_LOOPS));
  await enqueue(sqs, queueUrl, tasks.slice(head));
  if (chunk.next !== null) await enqueue(sqs, queueUrl, [{ ...task, from: chunk.next }]);
  deps.logger.debug('fanout_chunk_sent', { experiment_id: task.experiment_id, from: task.from, tasks: tasks.length, enqueue_ms: Date.now() - started });
  return 'sent';
}
