/**
 * Group commit: outcomes wait here while the previous transaction runs (and,
 * when none runs but other tasks are still running, for GATHER_MS at most),
 * then go to PostgreSQL together in one. A commit costs about the same for
 * one outcome as for ten, and it updates the same experiment and result rows
 * each time, so fewer, larger commits save most of the database's work; the
 * wait costs no task slot, and the last outcome of a run does not wait.
 * Only after the commit are the follow-up tasks sent and the messages
 * deleted, so a crash at any point leaves the message to be redelivered and
 * redone, idempotently. A batch refused for its content (a value PostgreSQL
 * cannot take) is split until the item at fault is alone: that item is
 * rejected, and the others are stored, not redone.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
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
  /** Called when the database refuses this item's content: it will never be stored as it is. */
  rejected: (err: Error) => void;
}

/** Most outcomes in one transaction. */
export const MAX_BATCH = 500;
/** Longest an outcome waits for others while no transaction runs. */
export const GATHER_MS = 20;

export interface CommitterOptions {
  pool: pg.Pool;
  sqs: SQSClient;
  queueUrl: string;
  logger: Logger;
  /**
   * Experiments a commit found stopped: their outcomes dropped (stopped by a
   * request, or deleted, since their tasks were received), or stopped by a
   * budget cap (their outcomes, calls in flight at the stop, recorded).
   */
  onSkipped: (experimentIds: number[]) => void;
  /** Whether more outcomes are on their way (tasks running): only then is gathering worth a wait. */
  moreComing: () => boolean;
  /** The gathering wait's timer; the system's clock unless a test drives it. */
  clock?: Clock;
}

export class Committer {
  private queue: CommitItem[] = [];
  private running: Promise<void> | undefined;
  private gathering: Timer | undefined;
  private readonly clock: Clock;

  constructor(private readonly options: CommitterOptions) {
    this.clock = options.clock ?? systemClock;
  }

  add(item: CommitItem): void {
    this.queue.push(item);
    if (this.running) return;
    if (this.queue.length >= MAX_BATCH || !this.options.moreComing()) this.start();
    else this.gathering ??= this.clock.setTimeout(() => this.start(), GATHER_MS);
  }

  private start(): void {
    this.clock.clearTimeout(this.gathering);
    this.gathering = undefined;
    this.running ??= this.run().finally(() => (this.running = undefined));
  }

  get size(): number {
    return this.queue.length;
  }

  private async run(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const { stored, skipped } = await this.storeIsolating(batch);
        if (skipped.length) this.options.onSkipped(skipped);
        // A stopped experiment's judge tasks would only be dropped; a retry that resumes it enqueues what is missing.
        const halted = new Set(skipped);
        const followUps = stored.flatMap((b) => b.followUps).filter((t) => !halted.has(t.experiment_id));
        if (followUps.length) await enqueue(this.options.sqs, this.options.queueUrl, followUps);
        for (const item of stored) item.done();
      } catch (err) {
        this.options.logger.error('commit_failed', { items: batch.length, error: (err as Error).message });
        for (const item of batch) item.failed(err as Error);
      }
    }
  }

  /** Stores `batch`, halving it around content the database refuses; returns what was stored, and the experiments found stopped. */
  private async storeIsolating(batch: CommitItem[]): Promise<{ stored: CommitItem[]; skipped: number[] }> {
    try {
      const summary = await this.store(batch);
      return { stored: batch, skipped: [...new Set([...summary.skippedExperiments, ...summary.budgetStopped])] };
    } catch (err) {
      if (!refusedContent(err)) throw err;
      if (batch.length === 1) {
        this.options.logger.error('outcome_refused', { error: (err as Error).message });
        batch[0].rejected(err as Error);
        return { stored: [], skipped: [] };
      }
      const half = Math.ceil(batch.length / 2);
      const first = await this.storeIsolating(batch.slice(0, half));
      const second = await this.storeIsolating(batch.slice(half));
      return { stored: [...first.stored, ...second.stored], skipped: [...new Set([...first.skipped, ...second.skipped])] };
    }
  }

  private async store(batch: CommitItem[]): Promise<CommitSummary> {
    const answers = batch.flatMap((b) => b.answers);
    const observations = batch.flatMap((b) => b.observations);
    for (let attempt = 0; ; attempt++) {
      try {
        return await commitOutcomes(this.options.pool, answers, observations);
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

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the content is at fault, not the database. */
function refusedContent(err: unknown): boolean {
  return /^2[23]/.test(String((err as { code?: string }).code ?? ''));
}
