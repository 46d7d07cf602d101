/**
 * The retry policy: whether a failed task is tried again, and every delay
 * the system waits before trying something again, each named with its reason.
 * In one place so that a change to one is weighed against the others (a
 * runner's release delays against the queue's receive count and dead-letter
 * queue, its hold limit against SQS's visibility, ...). Pure: the randomness
 * of a jittered delay can be passed in.
 */

/**
 * SQS delays a message by at most 15 minutes (DelaySeconds 0..900).
 * Source: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
export const SQS_MAX_DELAY_SEC = 900;

/** Back-offs longer than this hand the message back to SQS instead of holding it (and its credit) in the runner. */
export const HOLD_LIMIT_MS = 30_000;

export const Delays = {
  /**
   * A task whose model call failed retryably, without the provider saying
   * when to come back: jittered exponential back-off ("full jitter", so
   * the tasks a model refused together do not come back together):
   * 0.5 s, 1 s, 2 s ... capped at 20 s.
   */
  taskRetryMs: (attempt: number, random = Math.random): number => Math.round(random() * Math.min(20_000, 500 * 2 ** attempt)),

  /** A fan-out or retry task that failed (database or queue trouble): 1 s, 2 s, 4 s ... up to a minute, its receive count rising towards the DLQ. */
  controlTaskRetrySec: (attempt: number): number => Math.min(60, 2 ** attempt),

  /** A fan-out whose experiment is not visible yet (the API enqueues it just before committing): 1 s, 2 s, 3 s ... a launch commits within that. */
  launchRaceSec: (attempt: number): number => attempt + 1,

  /** A batch whose rows could not be read, or whose outcomes could not be committed: the database is likely down, back soon. */
  databaseTroubleSec: 5,

  /** A task whose very record of refusal could not be stored: left to redelivery, and at last the dead-letter queue. */
  unstorableSec: 60,

  /** An unreadable message where there is no dead-letter queue: kept out of the way for an hour rather than lost. */
  noDeadLetterQueueSec: 3600,

  /**
   * Between receives while SQS fails, per receive loop (the SDK has already
   * retried each call): 200 ms doubling, jittered into its upper half, at
   * most `pollerMaxMs`, so a runner takes work again soon after an outage
   * and sends few receives during one.
   */
  pollerRetryMs: (failures: number, random = Math.random): number => Math.min(Delays.pollerMaxMs, 200 * 2 ** failures) * (0.5 + random() / 2),
  pollerMaxMs: 5000,

  /** Entries SQS refused in a batch send (throttling of the batch's entries): 50 ms doubling, over `queueSendAttempts` tries. */
  queueSendRetryMs: (attempt: number): number => 50 * 2 ** attempt,
  queueSendAttempts: 5,

  /** Between probes of a database that does not answer: often enough to resume soon after, rarely enough not to add to its load. */
  databaseProbeMs: 1000,

  /** Before a worker thread that died is started again: 50 ms doubling per recent death, at most 5 s, so a crash loop does not spin the CPU. */
  workerRestartMs: (recentDeaths: number): number => Math.min(5000, 50 * 2 ** recentDeaths),

  /**
   * After a failed call to the ECS agent's task protection, the `failures`th
   * in a row: doubling from 1 s, jittered into its upper half, at most a
   * minute or a quarter of the protection's period, so a renewal is retried
   * before the protection lapses.
   */
  taskProtectionRetryMs: (failures: number, periodMs: number, random = Math.random): number => {
    const delay = Math.min(60_000, periodMs / 4, 1000 * 2 ** (failures - 1));
    return Math.round(delay / 2 + (random() * delay) / 2);
  },

  /** Between checks, on shutdown, for running tasks and commits to finish: short, the grace period is counted in seconds. */
  shutdownPollMs: 20,

  /** On shutdown, how long idle worker threads get to finish and exit on their own before they are stopped. */
  shutdownWorkersMs: 2000,
} as const;

/** What to do with a task whose attempt failed. */
export type AfterFailure = { retry: true; delayMs: number } | { retry: false; error: string };

/**
 * A task's model call failed: try again (after the provider's Retry-After,
 * else a back-off) while attempts remain and the failure is one a retry can
 * mend; else fail it for good with the call's message. `attempt` counts
 * the attempts before this one.
 */
export function afterFailedCall(call: { retryable: boolean; retryAfterMs?: number; message: string }, attempt: number, maxAttempts: number, random = Math.random): AfterFailure {
  if (call.retryable && attempt + 1 < maxAttempts) return { retry: true, delayMs: call.retryAfterMs ?? Delays.taskRetryMs(attempt, random) };
  return { retry: false, error: call.retryable ? `${call.message} (failed ${attempt + 1} attempts)` : call.message };
}

/** A task's worker thread died with it: try again at once while attempts remain (the crash may be the thread's, not the task's). */
export function afterLostWorker(attempt: number, maxAttempts: number): AfterFailure {
  if (attempt + 1 >= maxAttempts) return { retry: false, error: `the worker running this task died ${attempt + 1} times` };
  return { retry: true, delayMs: 0 };
}

/** Whether a call's failure is one to retry: the worker then hands back the tasks queued behind it, for the limiter to pace. */
export const isRetryableFailure = (call: { ok: boolean; retryable?: boolean } | undefined): boolean => !!call && !call.ok && call.retryable === true;

/** A retry delay held in the runner (under HOLD_LIMIT_MS), or the whole seconds to release the message for. */
export function releaseDelaySec(delayMs: number): number | undefined {
  return delayMs > HOLD_LIMIT_MS ? Math.ceil(delayMs / 1000) : undefined;
}
