/**
 * Deletes and releases of received messages, gathered per event-loop turn
 * into batches of 10 (SQS's largest), sent in parallel.
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
  private scheduled = false;
  private inFlight = new Set<Promise<unknown>>();

  constructor(private readonly sqs: SQSClient, private readonly queueUrl: string, private readonly logger: Logger) {}

  /** Deletes a message whose task is done for good. */
  delete(receipt: Receipt): void {
    this.deletes.push(receipt);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushDeletes());
    }
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
    this.scheduled = false;
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
    if (this.scheduled) this.flushDeletes();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
