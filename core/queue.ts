/**
 * Task messages and their producer. A message carries ids, never a dataset:
 * workers read the one row they need. Sends go in batches of 10, SQS's
 * largest, and every entry that SQS reports failed is sent again.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';

export const FanoutTask = z
  .object({
    type: z.literal('fanout'),
    experiment_id: z.number().int().positive(),
    /** `answers`: enqueue answer tasks (or, for bring-your-own outputs, observation tasks);
     *  `observations`: enqueue observation tasks of `result_ids` for rows already answered. */
    stage: z.enum(['answers', 'observations']),
    result_ids: z.array(z.number().int().positive()).optional(),
    /** Position in the experiment's row list where this fan-out resumes. */
    from: z.number().int().min(0).default(0),
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

/**
 * Sends tasks in batches of 10, `concurrency` batches at a time (one after
 * another by default); throws if some could not be sent after retries.
 */
export async function enqueue(sqs: SQSClient, queueUrl: string, tasks: readonly TaskInput[], concurrency = 1): Promise<void> {
  const batches: TaskInput[][] = [];
  for (let start = 0; start < tasks.length; start += 10) batches.push(tasks.slice(start, start + 10));
  let next = 0;
  const stream = async () => {
    while (next < batches.length) await sendBatch(sqs, queueUrl, batches[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), batches.length) }, stream));
}

async function sendBatch(sqs: SQSClient, queueUrl: string, batch: readonly TaskInput[]): Promise<void> {
  let entries = batch.map((task, i) => ({ Id: String(i), MessageBody: JSON.stringify(task) }));
  for (let attempt = 0; entries.length > 0; attempt++) {
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const failed = new Set((out.Failed ?? []).map((f) => f.Id));
    entries = entries.filter((e) => failed.has(e.Id));
    if (entries.length && attempt >= 4) {
      throw new Error(`SQS refused ${entries.length} task(s): ${(out.Failed ?? []).map((f) => f.Message).join('; ')}`);
    }
    if (entries.length) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
  }
}
