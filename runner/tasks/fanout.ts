/**
 * A fan-out task: enqueues one chunk of an experiment's answer (or
 * observation) tasks, then what follows it in its range: a continuation
 * (the next chunk) while the rest is short, or, when it is long, sub-range
 * fan-outs that several runners work through in parallel, so a large
 * experiment is not enqueued one chunk after another. Database and queue
 * work, run by the runner's main thread, not a worker.
 *
 * Idempotent: a chunk is claimed in the database before it is sent
 * (core/store/fanout-chunks.ts), named by its tree's root message and its
 * position, so a redelivered task, or the duplicate sub-ranges a redelivered
 * split sends, enqueue no row twice. What follows a chunk goes last, so a
 * task that died half-way is redone from its chunk.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import type { Logger } from '../../core/logger.js';
import { enqueue, SQS_BATCH_MAX, type Task, type TaskInput } from '../../core/queue.js';
import { claimChunk, markChunkSent } from '../../core/store/fanout-chunks.js';
import { fanoutChunk } from '../../core/store/work.js';
import { MAX_RECEIVE_LOOPS } from '../poller.js';

/** Receipts of a fan-out whose experiment is not visible yet before it is taken as rolled back. */
const LAUNCH_RACE_ATTEMPTS = 4;

/**
 * A rest longer than this many chunks is split in this many sub-ranges: a
 * tree, so an experiment of n chunks is enqueued in about log10(n) rounds
 * of parallel tasks, and a short one is still one chain of chunks (the
 * first of each sub-range goes out as soon as a runner takes it).
 */
export const SPLIT_WAYS = 10;

/**
 * What follows a chunk whose range goes on at `next` (null: the experiment
 * has no more rows) up to `to`: nothing, one continuation, or up to
 * SPLIT_WAYS sub-ranges, each starting on a chunk boundary.
 */
export function rangesAfter(next: number | null, to: number, chunkSize: number): { from: number; to: number }[] {
  if (next === null || next >= to) return [];
  const left = to - next;
  if (left <= chunkSize * SPLIT_WAYS) return [{ from: next, to }];
  const step = Math.ceil(Math.ceil(left / chunkSize) / SPLIT_WAYS) * chunkSize;
  const ranges: { from: number; to: number }[] = [];
  for (let from = next; from < to; from += step) ranges.push({ from, to: Math.min(from + step, to) });
  return ranges;
}

/** The delivery of a fan-out task: its message id (stable across redeliveries) and its earlier receipts. */
export interface Delivery {
  messageId: string;
  attempt: number;
}

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

/** Runs a fan-out task. */
export async function runFanout(deps: FanoutDeps, task: Extract<Task, { type: 'fanout' }>, delivery: Delivery): Promise<FanoutResult> {
  const { sqs, queueUrl } = deps;
  const size = task.to === undefined ? deps.chunkSize : Math.max(0, Math.min(deps.chunkSize, task.to - task.from));
  const chunk = await fanoutChunk(deps.pool, task.experiment_id, task.from, size, task.missing_only);
  // The API sends a launch's fan-out just before committing the experiment: look again shortly.
  // An experiment still missing after that was rolled back, and its task is dropped.
  if (chunk === 'missing' && delivery.attempt < LAUNCH_RACE_ATTEMPTS) return 'not_visible';
  if (typeof chunk !== 'object') return 'dropped';
  const tasks: TaskInput[] = [
    ...chunk.lines.map((num_line) => ({ type: 'answer' as const, experiment_id: task.experiment_id, num_line })),
    // An experiment without a model has no answers: its rows go straight to their observations.
    ...chunk.observations.map((o) => ({ type: 'observation' as const, experiment_id: task.experiment_id, ...o })),
  ];
  const started = Date.now();
  const root = task.root ?? delivery.messageId;
  const claim = { experimentId: task.experiment_id, root, from: task.from, messageId: delivery.messageId, redelivered: delivery.attempt > 0 };
  const send = tasks.length > 0 && (await claimChunk(deps.pool, claim));
  if (send) {
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
    await markChunkSent(deps.pool, task.experiment_id, root, task.from);
  }
  const after = rangesAfter(chunk.next, Math.min(task.to ?? chunk.total, chunk.total), deps.chunkSize);
  if (after.length) await enqueue(sqs, queueUrl, after.map((range) => ({ ...task, ...range, root })));
  deps.logger.debug('fanout_chunk_sent', {
    experiment_id: task.experiment_id,
    from: task.from,
    tasks: send ? tasks.length : 0,
    ...(tasks.length && !send ? { already_sent: tasks.length } : {}),
    then: after.length,
    enqueue_ms: Date.now() - started,
  });
  return 'sent';
}
