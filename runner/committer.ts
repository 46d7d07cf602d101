/**
 * Group commit: outcomes wait here while the previous transaction runs (and,
 * when none runs but other tasks are still running, for `gatherMs` at most),
 * then go to PostgreSQL together in one. A commit costs about the same for
 * one outcome as for ten, and it updates the same experiment and result rows
 * each time, so fewer, larger commits save most of the database's work; the
 * wait costs no task slot, and the last outcome of a run does not wait.
 * Only after the commit are the follow-up tasks sent and the messages
 * deleted, so a crash at any point leaves the message to be redelivered and
 * redone, idempotently.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import type { Logger } from '../core/logger.js';
import { enqueue, type TaskInput } from '../core/queue.js';
import { commitOutcomes, type AnswerOutcome, type CommitSummary, type ObservationOutcome } from '../core/store/outcomes.js';

export interface CommitItem {
  answers: AnswerOutcome[];
  observations: (ObservationOutcome & { experiment_id: number })[];
  /** Tasks to enqueue once the outcomes are stored (judge observations of a new answer). */
  followUps: TaskInput[];
  /** Called when the item is stored and its follow-ups sent. */
  done: () => void;
  /** Called when the item could not be stored; the message must come back. */
  failed: (err: Error) => void;
}

export class Committer {
  private queue: CommitItem[] = [];
  private running: Promise<void> | undefined;
  private gathering: NodeJS.Timeout | undefined;
  commits = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly logger: Logger,
    /** Experiments whose outcomes a commit dropped: stopped (or deleted) since their tasks were received. */
    private readonly onSkipped: (experimentIds: number[]) => void = () => undefined,
    /** Whether more outcomes are on their way (tasks running): only then is gathering worth a wait. */
    private readonly moreComing: () => boolean = () => true,
    private readonly maxBatch = 500,
    private readonly gatherMs = 20,
  ) {}

  add(item: CommitItem): void {
    this.queue.push(item);
    if (this.running) return;
    if (this.queue.length >= this.maxBatch || this.gatherMs <= 0 || !this.moreComing()) this.start();
    else this.gathering ??= setTimeout(() => this.start(), this.gatherMs);
  }

  private start(): void {
    clearTimeout(this.gathering);
    this.gathering = undefined;
    this.running ??= this.run().finally(() => (this.running = undefined));
  }

  get size(): number {
    return this.queue.length;
  }

  private async run(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const { skippedExperiments } = await this.store(batch);
        if (skippedExperiments.length) this.onSkipped(skippedExperiments);
        const followUps = batch.flatMap((b) => b.followUps);
        if (followUps.length) await enqueue(this.sqs, this.queueUrl, followUps);
        this.commits++;
        for (const item of batch) item.done();
      } catch (err) {
        this.logger.error('commit_failed', { items: batch.length, error: (err as Error).message });
        for (const item of batch) item.failed(err as Error);
      }
    }
  }

  private async store(batch: CommitItem[]): Promise<CommitSummary> {
    const answers = batch.flatMap((b) => b.answers);
    const observations = batch.flatMap((b) => b.observations);
    for (let attempt = 0; ; attempt++) {
      try {
        return await commitOutcomes(this.pool, answers, observations);
      } catch (err) {
        // Two runners committing to the same experiments may deadlock despite the lock order
        // (API writes take other paths); PostgreSQL picks a victim: try again.
        const code = (err as { code?: string }).code;
        if ((code === '40P01' || code === '40001') && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** Resolves when everything added so far is stored (or failed): what is gathering goes now. */
  async idle(): Promise<void> {
    if (this.gathering) this.start();
    while (this.running) await this.running;
  }
}
