/**
 * The broker: a ROUTER socket in the main thread. Workers announce their
 * slots; a task is sent only to a worker with room, and a task that calls a
 * model only when that model's limiter allows. Tasks wait here, in arrival
 * order, until both hold (credit-based dispatch, not round-robin).
 *
 * Look-ahead: a worker whose slots are all busy may also hold as many tasks
 * again, waiting, so a freed slot is refilled inside the worker without a
 * round trip through this thread. A model task is sent ahead like that only
 * while its limiter is `open` (see ModelLimiter.open): the workers' slots
 * alone then keep its calls within the limit.
 * When a limiter stops being open, the tasks of that model waiting at workers
 * are recalled and decided on again here.
 */
import { Router } from 'zeromq';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Limiters } from './limiter.js';
import { decode, encode, Frame, type WorkerOutcome, type WorkerTask } from './protocol.js';

export interface Dispatchable {
  wire: WorkerTask;
  /** The model endpoint this task calls, if it calls one. */
  modelKey?: string;
  budget?: { requestsPerMinute?: number | null; tokensPerMinute?: number | null };
  /** Not before this time (ms): a retry's back-off. */
  notBefore: number;
}

interface WorkerState {
  slots: number;
  /** Tasks sent to the worker and not finished: running there, or waiting for one of its slots. */
  running: Map<number, Dispatchable>;
}

/** Tasks a worker may hold per slot: one running, one waiting. */
const LOOKAHEAD = 2;

export interface BrokerOptions {
  address: string;
  limiters: Limiters;
  logger: Logger;
  /** A task's outcome arrived; its worker slot and limiter slot are already freed. */
  onOutcome: (task: Dispatchable, outcome: WorkerOutcome) => void;
  /** A task was lost with its worker: the caller decides to retry it. */
  onLost: (task: Dispatchable) => void;
  /**
   * Asked of each waiting task before it is sent: true takes it out of the
   * queue for good (the caller settles it; its experiment was stopped).
   */
  discard?: (task: Dispatchable) => boolean;
  /** Where the broker reads the time and sets its timers. @defaultvalue systemClock */
  clock?: Clock;
}

export class Broker {
  private readonly router = new Router({ mandatory: true });
  private readonly workers = new Map<string, WorkerState>();
  private pending: Dispatchable[] = [];
  private sending: Promise<unknown> = Promise.resolve();
  private wakeTimer: Timer | undefined;
  private wakeAt = Infinity;
  private loop: Promise<void> | undefined;
  private readonly clock: Clock;
  private readyWaiters: (() => void)[] = [];
  private paused = false;

  constructor(private readonly options: BrokerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async bind(): Promise<void> {
    await this.router.bind(this.options.address);
    this.loop = this.receive();
  }

  /** Resolves once `count` workers have announced themselves (or after `timeoutMs`, with false). */
  async workersReady(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = this.clock.now() + timeoutMs;
    while (this.workers.size < count) {
      const left = deadline - this.clock.now();
      if (left <= 0) return false;
      let timer: Timer | undefined;
      await new Promise<void>((resolve) => {
        this.readyWaiters.push(resolve);
        timer = this.clock.setTimeout(resolve, left);
      });
      this.clock.clearTimeout(timer);
    }
    return true;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get runningCount(): number {
    let n = 0;
    for (const w of this.workers.values()) n += w.running.size;
    return n;
  }

  submit(task: Dispatchable): void {
    this.pending.push(task);
    this.pump();
  }

  /**
   * Shutdown: nothing more is sent, and the workers hand back the tasks
   * waiting for their slots (they come back to `pending`, for drainPending).
   */
  pause(): void {
    this.paused = true;
    this.clock.clearTimeout(this.wakeTimer);
    this.recallWhere(() => true);
  }

  /** Removes and returns the tasks not yet sent to a worker (shutdown releases them). */
  drainPending(): Dispatchable[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Tasks running on workers right now. */
  running(): Dispatchable[] {
    return [...this.workers.values()].flatMap((w) => [...w.running.values()]);
  }

  /** A worker thread is gone: its tasks are handed back. */
  workerLost(id: string): void {
    const state = this.workers.get(id);
    if (!state) return;
    this.workers.delete(id);
    for (const task of state.running.values()) {
      if (task.modelKey) this.options.limiters.get(task.modelKey).fail('other');
      this.options.onLost(task);
    }
    this.pump();
  }

  /** Asks every worker to finish its tasks, close and exit. */
  stopWorkers(): void {
    for (const id of this.workers.keys()) this.send([id, Frame.Stop, '']);
  }

  private recall(workerId: string, ids: number[]): void {
    if (ids.length) this.send([workerId, Frame.Recall, encode({ ids })]).catch(() => undefined);
  }

  /** Asks the workers to hand back the tasks they have not started among those matching. */
  recallWhere(match: (task: Dispatchable) => boolean): void {
    for (const [id, state] of this.workers) this.recall(id, [...state.running.values()].filter(match).map((t) => t.wire.id));
  }

  /** The limits of these models changed from outside (runner/rate-share.ts): those that closed get their tasks back; waiting tasks may go. */
  reconsider(closed: string[]): void {
    for (const key of closed) this.recallModel(key);
    this.pump();
  }

  /** A limiter stopped being open: its tasks waiting at workers come back, to wait for it here. */
  private recallModel(modelKey: string): void {
    this.recallWhere((t) => t.modelKey === modelKey);
  }

  /** One send at a time (zeromq refuses a second with EBUSY); a failed send fails only itself. */
  private send(frames: (string | Buffer)[]): Promise<unknown> {
    const sent = this.sending.then(() => this.router.send(frames));
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  /** Sends every pending task that can go now; sets a timer for those waiting on time. */
  pump(): void {
    if (this.pending.length === 0 || this.paused) return;
    const now = this.clock.now();
    let nextWake = Infinity;
    const kept: Dispatchable[] = [];
    for (let i = 0; i < this.pending.length; i++) {
      const task = this.pending[i];
      if (this.options.discard?.(task)) continue;
      const worker = this.freestWorker();
      if (!worker) {
        kept.push(...this.pending.slice(i));
        break;
      }
      if (task.notBefore > now) {
        nextWake = Math.min(nextWake, task.notBefore);
        // A retry waiting its delay still wants its model: its runner keeps its share meanwhile.
        if (task.modelKey) this.options.limiters.get(task.modelKey, task.budget).wantUntil(task.notBefore);
        kept.push(task);
        continue;
      }
      if (task.modelKey) {
        const limiter = this.options.limiters.get(task.modelKey, task.budget);
        const [, candidate] = worker;
        // Not open: the call must start now, on a free slot, for the limiter's count to hold.
        if (!limiter.open && (candidate.running.size >= candidate.slots || !limiter.canStart())) {
          const wait = limiter.waitMs();
          if (wait > 0) nextWake = Math.min(nextWake, now + wait);
          kept.push(task);
          continue;
        }
        limiter.start();
        this.options.logger.debug('task_dispatched', { model: task.modelKey });
      }
      const [id, state] = worker;
      state.running.set(task.wire.id, task);
      this.send([id, Frame.Task, encode(task.wire)]).catch((err: Error) => {
        // The peer vanished between its last frame and this send: treat it as lost.
        this.options.logger.warn('worker_unreachable', { worker: id, error: err.message });
        this.workerLost(id);
      });
    }
    this.pending = kept;
    this.schedule(nextWake);
  }

  private schedule(at: number): void {
    if (at === Infinity || at >= this.wakeAt) return;
    this.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimeout(() => {
      this.wakeAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.clock.now()));
  }

  /** The worker with the most free slots (negative: tasks already waiting), among those with room. */
  private freestWorker(): [string, WorkerState] | undefined {
    let best: [string, WorkerState] | undefined;
    for (const entry of this.workers) {
      const [, w] = entry;
      if (w.running.size < w.slots * LOOKAHEAD && (!best || w.slots - w.running.size > best[1].slots - best[1].running.size)) best = entry;
    }
    return best;
  }

  private async receive(): Promise<void> {
    for await (const [sender, type, body] of this.router) {
      const id = sender.toString();
      const kind = type.toString();
      if (kind === Frame.Ready) {
        this.workers.set(id, { slots: decode<{ slots: number }>(body).slots, running: new Map() });
        this.options.logger.debug('worker_ready', { worker: id });
        for (const wake of this.readyWaiters.splice(0)) wake();
      } else if (kind === Frame.Done) {
        const outcome = decode<WorkerOutcome>(body);
        const task = this.workers.get(id)?.running.get(outcome.id);
        if (!task) continue; // its worker was declared lost: the task was already handed back
        this.workers.get(id)!.running.delete(outcome.id);
        if (task.modelKey && outcome.call) {
          const limiter = this.options.limiters.get(task.modelKey);
          const call = outcome.call;
          // What the reply stated first: the outcome below then adjusts an allowance already up to date.
          limiter.observe(call.limits, call.sentAt);
          if (call.ok) limiter.succeed(call.tokens, call.sentAt);
          else {
            if (call.kind === 'throttle') {
              limiter.throttle(call.retryAfterMs, call.sentAt);
              // Info level: the deployment's dashboard counts these lines as the model's 429s.
              this.options.logger.info('model_throttled', { model: task.modelKey, retry_after_ms: call.retryAfterMs, blocked_until: limiter.blockedUntil });
            } else limiter.fail(call.kind, call.sentAt);
            if (!limiter.open) this.recallModel(task.modelKey);
          }
          if (call.calls) limiter.moreCalls(call.calls - 1);
        } else if (task.modelKey) {
          this.options.limiters.get(task.modelKey).fail('other');
        }
        this.options.onOutcome(task, outcome);
      } else if (kind === Frame.Returned) {
        // Handed back unstarted: first in line again, its limiter start undone.
        const state = this.workers.get(id);
        const back: Dispatchable[] = [];
        for (const taskId of decode<{ ids: number[] }>(body).ids) {
          const task = state?.running.get(taskId);
          if (!task) continue;
          state!.running.delete(taskId);
          if (task.modelKey) this.options.limiters.get(task.modelKey).cancel();
          back.push(task);
        }
        this.pending.unshift(...back);
      }
      this.pump();
    }
  }

  async close(): Promise<void> {
    this.clock.clearTimeout(this.wakeTimer);
    this.router.close();
    await this.loop?.catch(() => undefined);
  }
}
