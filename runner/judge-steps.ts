/**
 * Evaluation steps an experiment's rows share (g_eval given criteria alone,
 * core/metrics/types.ts SharedSteps), as the runner's main thread keeps them
 * exact: before a task of such a metric is handed to a worker, its steps are
 * read from the store; when there are none yet, the first task to claim them
 * (across all runners, core/store/judge-steps.ts) is sent without steps and
 * its worker writes them (one judge call, counted in that row's usage),
 * while every other task of the key waits for them. The writer's steps are
 * stored before its row is committed; should other steps have been stored
 * meanwhile (its claim expired and was taken over), its row is judged again
 * with those. Every row is thus scored with the stored steps.
 */
import type { Logger } from '../core/logger.js';
import { judgeOf } from '../core/metrics/judges.js';
import type { Db } from '../core/store/db.js';
import { claimSteps, publishSteps, releaseSteps, type StepsClaim, type StepsKey } from '../core/store/judge-steps.js';
import type { MetricUse } from './protocol.js';

/** What a task waiting at the gate is to do: judge with these steps, or write them (its worker makes them). */
export type StepsGate = { steps: string[] } | { make: StepsKey };

export interface JudgeStepsDeps {
  db: Db;
  logger: Logger;
  /** This runner, as claims name it. */
  owner: string;
  /** How long a claim holds before another runner may take it over: its task's calls, with room for a retry. */
  leaseMs: number;
  /** How often a task whose steps another runner is writing looks again. */
  pollMs: number;
}

const idOf = (k: StepsKey) => `${k.experimentId}|${k.metric}|${k.hash}`;

export class JudgeSteps {
  /** Steps stored: they never change once stored. */
  private readonly known = new Map<string, string[]>();
  /** Keys a task of this runner is writing the steps of: resolved when it ends, with steps or not. */
  private readonly making = new Map<string, { done: Promise<void>; resolve: () => void }>();
  /** Claims being asked of the store, one per key at a time. */
  private readonly claiming = new Map<string, Promise<StepsClaim>>();

  constructor(private readonly deps: JudgeStepsDeps) {}

  /** The key of the steps a judged metric use shares in this experiment; undefined when it shares none. */
  keyOf(experimentId: number, use: Pick<MetricUse, 'name' | 'params'>): StepsKey | undefined {
    const hash = judgeOf(use.name)?.sharedSteps?.key(use.params ?? {});
    return hash == null ? undefined : { experimentId, metric: use.name, hash };
  }

  /**
   * Waits until the key's steps are stored, or until the caller may write
   * them; null when `live` turns false while waiting (its message was
   * handed back). Throws when the store cannot be reached.
   */
  async gate(key: StepsKey, live: () => boolean): Promise<StepsGate | null> {
    const id = idOf(key);
    for (;;) {
      const steps = this.known.get(id);
      if (steps) return { steps };
      const making = this.making.get(id);
      if (making) {
        await making.done;
        continue;
      }
      const inFlight = this.claiming.get(id);
      if (inFlight) {
        // Another task's claim for this key is being asked: its answer serves this one too.
        const claim = await inFlight;
        if ('steps' in claim || claim.claimed) continue;
      } else {
        const claim = await this.claim(key, id);
        if ('steps' in claim) return { steps: claim.steps };
        if (claim.claimed) return { make: key };
      }
      // Another runner is writing them.
      if (!live()) return null;
      await new Promise((r) => setTimeout(r, this.deps.pollMs));
      if (!live()) return null;
    }
  }

  private claim(key: StepsKey, id: string): Promise<StepsClaim> {
    const claim = claimSteps(this.deps.db, key, this.deps.owner, this.deps.leaseMs).then((c) => {
      if ('steps' in c) this.known.set(id, c.steps);
      else if (c.claimed) {
        let resolve!: () => void;
        const done = new Promise<void>((r) => (resolve = r));
        this.making.set(id, { done, resolve });
        this.deps.logger.info('judge_steps_claimed', { experiment_id: key.experimentId, metric: key.metric });
      }
      return c;
    });
    this.claiming.set(id, claim);
    const forget = () => this.claiming.delete(id);
    claim.then(forget, forget);
    return claim;
  }

  /**
   * The writing task ended: with the steps it made (stored unless others
   * were stored first; the stored ones are returned), or without (the claim
   * is given up for the next task). The tasks waiting here go on either way.
   */
  async settle(key: StepsKey, made: string[] | undefined): Promise<string[] | null> {
    const id = idOf(key);
    try {
      if (!made) {
        await releaseSteps(this.deps.db, key, this.deps.owner);
        return null;
      }
      const stored = await publishSteps(this.deps.db, key, made);
      this.known.set(id, stored);
      this.deps.logger.info('judge_steps_stored', { experiment_id: key.experimentId, metric: key.metric, steps: stored.length, own: sameSteps(stored, made) });
      return stored;
    } finally {
      const making = this.making.get(id);
      this.making.delete(id);
      making?.resolve();
    }
  }
}

export const sameSteps = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((s, i) => s === b[i]);
