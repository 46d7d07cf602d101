/**
 * The sweeper: whatever the queue lost, no experiment stays unfinished. It
 * records the tasks that reached the dead-letter queue as failed, with their
 * reason; enqueues again the missing work of experiments that made no
 * progress for EVALAP_STALL_AFTER_SEC (idempotent: stored outcomes are never
 * redone, and a task done twice changes nothing); and after
 * EVALAP_STALL_REQUEUES such attempts records that work as failed. Runners
 * sweep periodically, one at a time; the local stack sweeps once at start.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type pg from 'pg';
import type { Logger } from './logger.js';
import { enqueue, parseTask, SQS_BATCH_MAX } from './queue.js';
import { claimStalled, failDeadLettered, failMissingWork } from './store/sweep.js';

export interface SweepDeps {
  pool: pg.Pool;
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl?: string;
  logger: Logger;
  stallAfterSec: number;
  maxRequeues: number;
}

export interface SweepReport {
  /** Dead-lettered tasks recorded as failed. */
  deadLettered: number;
  requeued: number[];
  gaveUp: number[];
  /** False when another sweeper held the lock. */
  swept: boolean;
}

/**
 * While the queue holds messages, a stalled experiment's work may only be
 * waiting behind other work (or out a long back-off): it is enqueued again
 * only after this many times the stall bound.
 */
const BUSY_QUEUE_FACTOR = 8;
/** Dead-letter receives per sweep (10 messages each). */
const DLQ_BATCHES = 10;
/** A dead letter kept for inspection is read again (and recorded again, idempotently) after this long: SQS's maximum. */
const KEEP_INVISIBLE_SEC = 43_200;

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const deadLettered = deps.dlqUrl ? await recordDeadLetters(deps, deps.dlqUrl) : 0;
  const idle = await queueIdle(deps.sqs, deps.queueUrl).catch(() => false);
  const claimed = await claimStalled(deps.pool, idle ? deps.stallAfterSec : deps.stallAfterSec * BUSY_QUEUE_FACTOR, deps.maxRequeues);
  if (!claimed) return { deadLettered, requeued: [], gaveUp: [], swept: false };
  for (const { id, requeues } of claimed.requeue) {
    deps.logger.warn('experiment_requeued', { experiment_id: id, requeue: requeues, of: deps.maxRequeues, detail: 'no progress: its missing work is enqueued again' });
    await enqueue(deps.sqs, deps.queueUrl, [{ type: 'fanout', experiment_id: id, stage: 'answers', from: 0, missing_only: true }]);
  }
  for (const { id, stalledSec } of claimed.giveUp) {
    const reason = `no progress for ${stalledSec} s, after its missing work was enqueued again ${deps.maxRequeues} times`;
    const rows = await failMissingWork(deps.pool, id, reason);
    deps.logger.error('experiment_work_failed', { experiment_id: id, rows, reason });
  }
  return { deadLettered, requeued: claimed.requeue.map((c) => c.id), gaveUp: claimed.giveUp.map((c) => c.id), swept: true };
}

/** Nothing visible, in flight or delayed (SQS's counts are approximate: an idle queue may read busy for a while, never the reverse for long). */
async function queueIdle(sqs: SQSClient, queueUrl: string): Promise<boolean> {
  const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...names] }));
  return names.every((n) => Number(Attributes?.[n] ?? 0) === 0);
}

/**
 * Answer and observation tasks in the dead-letter queue are recorded as
 * failed with why they got there. The messages stay, out of sight for 12
 * hours, for whoever looks into them (and the dead-letter alarm counts them).
 */
async function recordDeadLetters(deps: SweepDeps, dlqUrl: string): Promise<number> {
  let recorded = 0;
  for (let i = 0; i < DLQ_BATCHES; i++) {
    const { Messages = [] } = await deps.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: SQS_BATCH_MAX, WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }),
    );
    if (!Messages.length) break;
    const tasks = Messages.map((m) => ({ m, task: parseTask(m.Body) }));
    const work = tasks.flatMap(({ m, task }) => (typeof task === 'object' && (task.type === 'answer' || task.type === 'observation') ? [{ ...task, reason: deadLetterReason(m) }] : []));
    await failDeadLettered(deps.pool, work);
    for (const t of work) deps.logger.error('dead_letter_recorded', { experiment_id: t.experiment_id, num_line: t.num_line, task: t.type, reason: t.reason });
    recorded += work.length;
    await deps.sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlqUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: KEEP_INVISIBLE_SEC })) }),
    );
  }
  return recorded;
}

/** The runner's own reason when it set the task aside; else SQS moved it after too many receives (its runners died or never finished it). */
function deadLetterReason(m: Message): string {
  const given = m.MessageAttributes?.reason?.StringValue;
  return `dead-lettered: ${given ?? 'the task was received too many times without finishing (its runner was killed or lost it each time)'}`;
}
