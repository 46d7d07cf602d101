/**
 * The SQS long-poll loops. Each receive asks for at most the free credits
 * (free task slots plus a prefetch), so a second runner gets the rest of the
 * backlog. A loop waits until at least `minBatch` credits are free before it
 * polls: receiving one message per freed slot costs a request (and its
 * signing) per task, receiving ten at a time a tenth of that. Several loops
 * poll at once when there are many credits, since one receive returns at
 * most 10 messages.
 */
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Delays } from '../core/backoff.js';
import { SQS_BATCH_MAX, SqsOutageLog } from '../core/queue.js';

/** Most receive loops a runner runs: enough to keep a large runner's credits filled, few enough not to flood SQS with empty receives. */
export const MAX_RECEIVE_LOOPS = 10;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  waitSec: number;
  /** Visibility timeout set on receipt; the heartbeat keeps extending it while a task runs. */
  visibilityTimeoutSec: number;
  /** Messages this runner may still take. */
  credits: () => number;
  /** Takes ownership of received messages (they count against credits from then on). */
  onMessages: (messages: Message[]) => void;
  logger: Logger;
  loops: number;
  /** Fewest free credits worth a receive (at most 10); the prefetch keeps work ready meanwhile. */
  minBatch?: number;
  /** Where the back-off sleeps are timed. @defaultvalue systemClock */
  clock?: Clock;
}

export class Poller {
  private running = false;
  private reserved = 0;
  /** Receives in flight. */
  private polling = 0;
  /** The last receive came back empty: one long poll at a time is enough until messages come. */
  private idle = false;
  private loops: Promise<void>[] = [];
  private waiters: (() => void)[] = [];
  /** Cuts the back-off sleeps and holds short on stop. */
  private readonly stopped = new AbortController();
  private readonly stopping: Promise<void>;
  /** Settles when receiving may resume (see hold). */
  private holding: Promise<void> | undefined;
  private readonly outage: SqsOutageLog;
  private readonly clock: Clock;

  constructor(private readonly options: PollerOptions) {
    this.outage = new SqsOutageLog(options.logger, 'receive_failed');
    this.clock = options.clock ?? systemClock;
    this.stopping = new Promise((resolve) => this.stopped.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.options.loops }, () => this.loop());
  }

  /**
   * Receives nothing until `until` settles: what would come now could not be
   * used (the runner's database is down) and would only be handed back, each
   * receive counting towards the queue's maxReceiveCount, so that an outage
   * of a minute would send the backlog to the dead-letter queue. A hold
   * during another extends it.
   */
  hold(until: Promise<unknown>): void {
    const held: Promise<void> = Promise.allSettled([this.holding, until]).then(() => {
      if (this.holding !== held) return;
      this.holding = undefined;
      this.notify();
    });
    this.holding = held;
  }

  /** Credits were freed: wake the loops waiting for some. */
  notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private available(): number {
    return this.options.credits() - this.reserved;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (this.holding) {
        await Promise.race([this.holding, this.stopping]);
        continue;
      }
      const want = Math.min(SQS_BATCH_MAX, this.available());
      // Park until woken: too few credits for a receive, or an empty queue another loop already polls.
      if (want <= 0 || want < Math.min(SQS_BATCH_MAX, this.options.minBatch ?? 1) || (this.idle && this.polling > 0)) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      this.reserved += want;
      this.polling++;
      let messages: Message[] = [];
      try {
        const out = await this.options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: want,
            WaitTimeSeconds: this.options.waitSec,
            VisibilityTimeout: this.options.visibilityTimeoutSec,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        messages = out.Messages ?? [];
        failures = 0;
        this.outage.succeeded();
      } catch (err) {
        failures++;
        this.outage.failed({ error: (err as Error).message });
        // Each loop backs off on its own, jittered: the loops of every runner must not come back in step when SQS does.
        await this.clock.sleep(Delays.pollerRetryMs(failures), this.stopped.signal).catch(() => undefined);
      } finally {
        this.reserved -= want;
        this.polling--;
      }
      this.idle = messages.length === 0;
      // Messages came: more may be waiting, so the parked loops poll too.
      if (!this.idle) this.notify();
      // Even after stop: the caller owns what SQS handed over and releases it.
      if (messages.length) this.options.onMessages(messages);
    }
  }

  /** Stops polling; resolves once every receive in flight has returned (at most the poll wait). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped.abort();
    this.notify();
    await Promise.all(this.loops);
  }
}
