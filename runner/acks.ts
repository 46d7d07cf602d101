/**
 * Deletes and releases of received messages. Deletes are gathered into
 * SQS batches: a batch leaves as soon as it is full, or
 * `delayMs` after its first delete. Waiting costs nothing (the task is done
 * and its credit already freed; a message redelivered meanwhile is a no-op)
 * and saves a request per task at low concurrency.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { SQS_BATCH_MAX, sqsBatches, SqsOutageLog } from '../core/queue.js';

export interface Receipt {
  id: string;
  receiptHandle: string;
}

export class Acks {
  private deletes: Receipt[] = [];
  private timer: Timer | undefined;
  private inFlight = new Set<Promise<unknown>>();
  /**
   * Calls that fail as a whole (SQS unreachable) are logged once per outage.
   * Nothing else is needed: a message not deleted or not released comes
   * back after its visibility timeout, and its task is then a no-op or redone.
   */
  private readonly deleteOutage: SqsOutageLog;
  private readonly releaseOutage: SqsOutageLog;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly logger: Logger,
    private readonly delayMs = 100,
    private readonly clock: Clock = systemClock,
  ) {
    this.deleteOutage = new SqsOutageLog(logger, 'delete_failed');
    this.releaseOutage = new SqsOutageLog(logger, 'release_failed');
  }

  /** Deletes a message whose task is done for good. */
  delete(receipt: Receipt): void {
    this.deletes.push(receipt);
    if (this.deletes.length >= SQS_BATCH_MAX) this.flushDeletes();
    else this.timer ??= this.clock.setTimeout(() => this.flushDeletes(), this.delayMs);
  }

  /** Hands messages back to the queue now, or after `delaySec`. */
  release(receipts: readonly Receipt[], delaySec = 0): Promise<void> {
    if (!receipts.length) return Promise.resolve();
    return this.track(
      tryRelease(this.sqs, this.queueUrl, receipts.map((r) => ({ ...r, delaySec }))).then(({ refused, unsent, error }) => {
        if (refused.length) this.logger.warn('release_failed', { ids: refused });
        if (unsent.length) this.releaseOutage.failed({ ids: unsent, error: (error as Error)?.message });
        else this.releaseOutage.succeeded();
      }),
    );
  }

  private flushDeletes(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const all = this.deletes.splice(0);
    for (const batch of sqsBatches(all)) {
      this.track(
        this.sqs
          .send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })) }))
          .then(
            (out) => {
              this.deleteOutage.succeeded();
              // A failed delete only means the message comes back: its task is then a no-op.
              if (out.Failed?.length) this.logger.warn('delete_failed', { ids: out.Failed.map((f) => batch[Number(f.Id)].id), code: out.Failed[0].Code });
            },
            (err: Error) => this.deleteOutage.failed({ ids: batch.map((r) => r.id), error: err.message }),
          ),
      );
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /** Resolves when every delete and release sent so far has been answered. */
  async drain(): Promise<void> {
    if (this.deletes.length) this.flushDeletes();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}

export interface ReleaseEntry {
  id: string;
  receiptHandle: string;
  /** Seconds before the message is visible again; 0 (at once) by default. */
  delaySec?: number;
}

export interface ReleaseOutcome {
  /** Ids SQS answered for with a failure (a receipt handle gone, ...). */
  refused: string[];
  /** Ids of calls that failed as a whole (SQS unreachable). */
  unsent: string[];
  /** The error of the first call that failed as a whole, if one did. */
  error?: unknown;
}

/**
 * Hands messages back to the queue: sets their visibility to `delaySec ?? 0`
 * with `ChangeMessageVisibilityBatch`, a batch per call, the calls in
 * parallel, telling the entries SQS refused from the calls that failed.
 * Used on shutdown (visible at once) and for a delayed retry. Untrack the
 * messages from the heartbeat first, or a tick may hide them again. Never
 * rejects: the caller logs the failures.
 */
export async function tryRelease(sqs: SQSClient, queueUrl: string, entries: readonly ReleaseEntry[]): Promise<ReleaseOutcome> {
  const outcome: ReleaseOutcome = { refused: [], unsent: [] };
  await Promise.all(
    sqsBatches(entries).map(async (batch) => {
      const Entries = batch.map((e, i) => ({
        Id: String(i),
        ReceiptHandle: e.receiptHandle,
        VisibilityTimeout: e.delaySec ?? 0,
      }));
      try {
        const out = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries }));
        for (const f of out.Failed ?? []) {
          const entry = batch[Number(f.Id)];
          if (entry) outcome.refused.push(entry.id);
        }
      } catch (error) {
        outcome.error ??= error;
        outcome.unsent.push(...batch.map((e) => e.id));
      }
    }),
  );
  return outcome;
}
