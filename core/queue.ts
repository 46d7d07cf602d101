/**
 * Task messages and their producer. A message carries ids, never a dataset:
 * workers read the one row they need. Sends go in batches of 10, SQS's
 * largest, and every entry that SQS reports failed is sent again. Also how
 * the runner logs SQS being unreachable (SqsOutageLog).
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { Delays } from './backoff.js';
import { UnavailableError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The most entries one SQS batch call takes (SendMessageBatch,
 * DeleteMessageBatch, ChangeMessageVisibilityBatch) and the most messages
 * one ReceiveMessage returns.
 * Source: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 * and https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html (MaxNumberOfMessages 1..10).
 */
export const SQS_BATCH_MAX = 10;

/** `items` cut into SQS batches, in order. */
export function sqsBatches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += SQS_BATCH_MAX) out.push(items.slice(i, i + SQS_BATCH_MAX));
  return out;
}

export const FanoutTask = z
  .object({
    type: z.literal('fanout'),
    experiment_id: z.number().int().positive(),
    /** `answers`: enqueue answer tasks (or, for bring-your-own outputs and experiments without a model, observation tasks);
     *  `observations`: enqueue observation tasks of `result_ids` for rows already answered. */
    stage: z.enum(['answers', 'observations']),
    result_ids: z.array(z.number().int().positive()).optional(),
    /** Position in the experiment's row list where this fan-out resumes. */
    from: z.number().int().min(0).default(0),
    /** End (exclusive) of the range this fan-out covers: a sub-range of a split fan-out. Unset: the experiment's last row. */
    to: z.number().int().min(1).optional(),
    /** Message id of the fan-out that began this one's tree (stable across redeliveries): with `from`, it names a chunk, so one is sent once. */
    root: z.string().min(1).max(128).optional(),
    /** Enqueue only rows with a missing answer or observation (retries, added metrics). */
    missing_only: z.boolean().default(false),
  })
  .strict();

export const RetryTask = z
  .object({ type: z.literal('retry'), experiment_id: z.number().int().positive() })
  .strict();

/**
 * What a task handed over to a later delivery carries of its earlier ones (a
 * back-off longer than a runner holds a message): the attempts they made,
 * which bound its retries, and the model calls, which its outcome's num_try
 * counts. Absent on a first delivery.
 */
const Carried = {
  attempts: z.number().int().min(0).optional(),
  calls: z.number().int().min(0).optional(),
};

export const AnswerTask = z
  .object({ type: z.literal('answer'), experiment_id: z.number().int().positive(), num_line: z.number().int().min(0), ...Carried })
  .strict();

export const ObservationTask = z
  .object({
    type: z.literal('observation'),
    experiment_id: z.number().int().positive(),
    result_id: z.number().int().positive(),
    num_line: z.number().int().min(0),
    ...Carried,
  })
  .strict();

export const Task = z.discriminatedUnion('type', [FanoutTask, RetryTask, AnswerTask, ObservationTask]);
export type Task = z.infer<typeof Task>;
export type TaskInput = z.input<typeof Task>;

/** Parses a message body into a task, or returns why it cannot be one. */
export function parseTask(body: string | undefined): Task | string {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  const parsed = Task.safeParse(json);
  return parsed.success ? parsed.data : `not a task: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`;
}

/**
 * Sends tasks in SQS batches, `concurrency` batches at a time (one after
 * another by default); throws if some could not be sent after retries: an
 * UnavailableError (a 503 for the API) when SQS could not be reached or
 * answered with an error.
 */
export async function enqueue(sqs: SQSClient, queueUrl: string, tasks: readonly TaskInput[], concurrency = 1): Promise<void> {
  const batches = sqsBatches(tasks);
  let next = 0;
  const stream = async () => {
    while (next < batches.length) await sendBatch(sqs, queueUrl, batches[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), batches.length) }, stream));
}

async function sendBatch(sqs: SQSClient, queueUrl: string, batch: readonly TaskInput[]): Promise<void> {
  let entries = batch.map((task, i) => ({ Id: String(i), MessageBody: JSON.stringify(task) }));
  for (let attempt = 0; entries.length > 0; attempt++) {
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })).catch((err: Error & { code?: string }) => {
      // The SDK has already retried what it deems transient (network errors, throttling, 5xx).
      throw new UnavailableError(`the task queue cannot be reached (${err.code ?? err.name})`, 5, err);
    });
    const failed = new Set((out.Failed ?? []).map((f) => f.Id));
    entries = entries.filter((e) => failed.has(e.Id));
    if (entries.length && attempt + 1 >= Delays.queueSendAttempts) {
      throw new Error(`SQS refused ${entries.length} task(s): ${(out.Failed ?? []).map((f) => f.Message).join('; ')}`);
    }
    if (entries.length) await new Promise((r) => setTimeout(r, Delays.queueSendRetryMs(attempt)));
  }
}

/** While SQS stays unreachable, how often the failure is logged again. */
const OUTAGE_REMINDER_MS = 60_000;

/**
 * Failures of one kind of SQS call (receive, extend, delete, release), logged
 * once per outage instead of once per call: when SQS cannot be reached every
 * receive loop, heartbeat batch and delete fails, and a line for each would
 * bury the one that matters. The first failure is logged as `event` (again
 * each minute while it lasts), the first success after it as
 * `sqs_reachable_again` with how many calls failed and for how long.
 */
export class SqsOutageLog {
  private since: number | undefined;
  private loggedAt = 0;
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    private readonly event: string,
  ) {}

  failed(fields: Record<string, unknown>): void {
    const now = Date.now();
    this.failures++;
    this.since ??= now;
    if (this.failures > 1 && now - this.loggedAt < OUTAGE_REMINDER_MS) return;
    this.loggedAt = now;
    this.logger.warn(this.event, { ...fields, failed_calls: this.failures, outage_ms: now - this.since });
  }

  succeeded(): void {
    if (this.since === undefined) return;
    this.logger.info('sqs_reachable_again', { after: this.event, failed_calls: this.failures, outage_ms: Date.now() - this.since });
    this.since = undefined;
    this.failures = 0;
  }
}
