/**
 * Deletes and releases of received messages. Deletes are gathered into
 * batches of 10 (SQS's largest): a batch leaves as soon as it is full, or
 * `delayMs` after its first delete. Waiting costs nothing (the task is done
 * and its credit already freed; a message redelivered meanwhile is a no-op)
 * and saves a request per task at low concurrency.
 */
import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../core/logger.js';
import { releaseMessages } from './heartbeat.js';

export interface Receipt {
  id: string;
  receiptHandle: string;
}

export class Acks {
  private deletes: Receipt[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly logger: Logger,
    private readonly delayMs = 100,
  ) {}

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
      releaseMessages(this.sqs, this.queueUrl, receipts.map((r) => ({ ...r, delaySec }))).then((failed) => {
        if (failed.length) this.logger.warn('release_failed', { ids: failed });
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
          .then((out) => {
            // A failed delete only means the message comes back: its task is then a no-op.
            if (out.Failed?.length) this.logger.warn('delete_failed', { ids: out.Failed.map((f) => batch[Number(f.Id)].id), code: out.Failed[0].Code });
          })
          .catch((err: Error) => this.logger.warn('delete_failed', { ids: batch.map((r) => r.id), error: err.message })),
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
