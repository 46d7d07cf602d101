/**
 * Keeps received SQS messages invisible while their tasks run. One timer
 * serves every message in flight (bullmq `LockManager` shape): each tick
 * gathers the messages that are due and extends them with
 * `ChangeMessageVisibilityBatch`, a batch per call, the calls in parallel.
 * A message stops being extended once it is untracked (deleted or released)
 * or once SQS says its receipt handle is no longer valid.
 */
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../core/logger.js';
import { sqsBatches, SqsOutageLog } from '../core/queue.js';

/** Per-entry codes meaning the receipt handle will never work again: stop extending that message. */
const LOST_HANDLE_CODES: ReadonlySet<string> = new Set([
  'ReceiptHandleIsInvalid',
  'InvalidParameterValue',
  'MessageNotInflight',
]);

export interface HeartbeatOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** The visibility timeout each extension sets, in seconds (0–43200). */
  visibilityTimeoutSec: number;
  /** Tick period in milliseconds; must be less than `visibilityTimeoutSec * 1000`. */
  intervalMs: number;
  logger: Logger;
  /** Clock, for tests; defaults to `Date.now`. */
  now?: () => number;
}

interface Tracked {
  receiptHandle: string;
  /** When the message was received or last extended (the time the extension was sent). */
  extendedAt: number;
}

interface Pending {
  messageId: string;
  entry: Tracked;
}

/**
 * Extends the visibility of every tracked message on one unref'd timer.
 *
 * @example
 * const heartbeat = new VisibilityHeartbeat({ sqs, queueUrl, visibilityTimeoutSec: 60, intervalMs: 20_000, logger });
 * heartbeat.start();
 * heartbeat.track(message.MessageId, message.ReceiptHandle);
 * // … task runs …
 * heartbeat.untrack(message.MessageId); // before deleting or releasing it
 */
export class VisibilityHeartbeat {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly visibilityTimeoutSec: number;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  /**
   * Age at which a message is extended: `intervalMs`, or less when the interval
   * is more than half the visibility timeout, so that a message received just
   * after a tick is still extended by the next-but-one tick before it expires.
   */
  private readonly dueAfterMs: number;
  private readonly tracked = new Map<string, Tracked>();
  /** Failed calls (SQS unreachable) are logged once per outage; their messages stay due, extended once it is back. */
  private readonly outage: SqsOutageLog;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: HeartbeatOptions) {
    const { visibilityTimeoutSec, intervalMs } = options;
    if (!Number.isInteger(visibilityTimeoutSec) || visibilityTimeoutSec < 1 || visibilityTimeoutSec > 43_200) {
      throw new RangeError(`visibilityTimeoutSec must be an integer from 1 to 43200, got ${visibilityTimeoutSec}`);
    }
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(`intervalMs must be greater than 0, got ${intervalMs}`);
    }
    if (intervalMs >= visibilityTimeoutSec * 1000) {
      throw new RangeError(
        `intervalMs (${intervalMs}) must be less than visibilityTimeoutSec * 1000 (${visibilityTimeoutSec * 1000})`,
      );
    }
    this.sqs = options.sqs;
    this.queueUrl = options.queueUrl;
    this.visibilityTimeoutSec = visibilityTimeoutSec;
    this.intervalMs = intervalMs;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.dueAfterMs = Math.min(intervalMs, visibilityTimeoutSec * 1000 - intervalMs);
    this.outage = new SqsOutageLog(this.logger, 'visibility_batch_failed');
  }

  /** Number of messages being extended. */
  get size(): number {
    return this.tracked.size;
  }

  /** Start tracking a received message: extended on each tick from now on while tracked. */
  track(messageId: string, receiptHandle: string): void {
    this.tracked.set(messageId, { receiptHandle, extendedAt: this.now() });
  }

  /** Stop extending a message (it was deleted or is about to be released). Unknown ids are ignored. */
  untrack(messageId: string): void {
    this.tracked.delete(messageId);
  }

  /** Starts the timer. Idempotent; does nothing once closing. The timer never keeps the process alive by itself. */
  start(): void {
    if (this.timer || this.closing) return;
    this.timer = setInterval(() => {
      // A slow tick is joined, not overlapped: its extensions are still in flight.
      if (!this.running) void this.tick();
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * One tick: extends every tracked message whose last extension (or receipt)
   * is older than `intervalMs`, in batches of 10 sent in parallel. A failed
   * entry is logged (`visibility_extension_failed`) and its message untracked
   * when the code says the receipt handle is gone; a failed call is logged
   * (`visibility_batch_failed`, once per outage) and its messages stay due
   * for the next tick.
   * Joins a tick already in progress. Never rejects.
   * @returns the number of messages extended.
   */
  tick(): Promise<number> {
    if (this.closing) return this.running ?? Promise.resolve(0);
    if (!this.running) {
      this.running = this.extendDue()
        .catch((error: unknown) => {
          this.logger.error('visibility_tick_failed', { error });
          return 0;
        })
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }

  /** Stops the timer and waits for a tick in progress. Returns the same promise on every call. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.running;
      this.logger.debug('visibility_heartbeat_closed', { tracked: this.tracked.size });
    })();
    return this.closing;
  }

  private async extendDue(): Promise<number> {
    const now = this.now();
    const due: Pending[] = [];
    for (const [messageId, entry] of this.tracked) {
      if (now - entry.extendedAt >= this.dueAfterMs) due.push({ messageId, entry });
    }
    if (due.length === 0) return 0;
    const counts = await Promise.all(sqsBatches(due).map((batch) => this.extendBatch(batch, now)));
    const extended = counts.reduce((a, b) => a + b, 0);
    this.logger.debug('visibility_extended', { count: extended, due: due.length });
    return extended;
  }

  private async extendBatch(batch: Pending[], sentAt: number): Promise<number> {
    // Entry ids are batch positions: message ids are not guaranteed to fit SQS's Id pattern.
    const Entries = batch.map(({ entry }, i) => ({
      Id: String(i),
      ReceiptHandle: entry.receiptHandle,
      VisibilityTimeout: this.visibilityTimeoutSec,
    }));
    let failed: { Id?: string; Code?: string; Message?: string }[];
    try {
      const out = await this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.queueUrl, Entries }));
      failed = out.Failed ?? [];
      this.outage.succeeded();
    } catch (error) {
      this.outage.failed({ ids: batch.map((p) => p.messageId), code: errorCode(error), error });
      return 0;
    }
    const failedAt = new Set<number>();
    for (const f of failed) {
      const pending = batch[Number(f.Id)];
      if (!pending) continue;
      failedAt.add(Number(f.Id));
      const code = bareCode(f.Code);
      const lost = LOST_HANDLE_CODES.has(code);
      this.logger.warn('visibility_extension_failed', {
        id: pending.messageId,
        code,
        message: f.Message,
        untracked: lost && this.tracked.get(pending.messageId) === pending.entry,
      });
      if (lost) this.forget(pending);
    }
    let extended = 0;
    batch.forEach((pending, i) => {
      if (failedAt.has(i)) return;
      extended++;
      // Only if still tracked under the same receipt: untrack (or a re-receipt) may have raced this call.
      if (this.tracked.get(pending.messageId) === pending.entry) pending.entry.extendedAt = sentAt;
    });
    return extended;
  }

  /** Untracks a message only if it is still tracked under the receipt that failed. */
  private forget({ messageId, entry }: Pending): void {
    if (this.tracked.get(messageId) === entry) this.tracked.delete(messageId);
  }
}

/** Codes may arrive prefixed (`AWS.SimpleQueueService.MessageNotInflight`); keep the last segment. */
function bareCode(code: string | undefined): string {
  return code ? code.slice(code.lastIndexOf('.') + 1) : 'Unknown';
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { Code?: unknown; code?: unknown; name?: unknown };
    for (const c of [e.Code, e.code, e.name]) if (typeof c === 'string' && c) return bareCode(c);
  }
  return 'Unknown';
}
