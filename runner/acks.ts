/**
 * Deletes and releases of received messages. Deletes are gathered into
 * batches of 10 (SQS's largest): a batch leaves as soon as it is full, or
 * `delayMs` after its first delete. Waiting costs nothing (the task is done
 * and its credit already freed; a message redelivered meanwhile is a no-op)
 * and saves a request per task at low concurrency.
 */
import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../core/logger.js';
import { SqsOutageLog } from '../core/queue.js';
import { tryRelease } from './heartbeat.js';

export interface Receipt {
  id: string;
  receiptHandle: string;
}

export class Acks {
  private deletes: Receipt[] = [];
  private timer: NodeJS.Timeout | undefined;
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
  ) {
    this.deleteOutage = new SqsOutageLog(logger, 'delete_failed');
    this.releaseOutage = new SqsOutageLog(logger, 'release_failed');
  }

  /** Deletes a message whose task is done for good. */
  delete(receipt: Receipt): void {
    this.deletes.push(receipt);
    if (this.deletes.length >= 10) this.flushDeletes();
    else this.timer ??= setTimeout(() => this.flushDeletes(), this.delayMs);
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
    clearTimeout(this.timer);
    this.timer = undefined;
    const all = this.deletes.splice(0);
    for (let i = 0; i < all.length; i += 10) {
      const batch = all.slice(i, i + 10);
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
