/**
 * The fixed pool of worker threads, started once. A thread that exits while
 * the pool is open is replaced (with a growing pause if threads keep dying),
 * and the broker is told so it retries that thread's tasks.
 */
import { Worker } from 'node:worker_threads';
import { Delays } from '../core/backoff.js';
import type { Logger } from '../core/logger.js';

/** Sent by the pool to a thread on its port (not the bus): close your socket and exit now. */
export const ThreadCommand = { Exit: 'exit' } as const;

/** How long threads told to exit at once may take before the pool gives up on them. */
const EXIT_WAIT_MS = 2000;

export interface PoolOptions {
  size: number;
  /** Total task slots, shared out between the threads. */
  slots: number;
  address: string;
  script: URL;
  logger: Logger;
  /** A thread is gone (crashed or exited): its tasks must be retried. */
  onExit: (workerId: string, code: number) => void;
}

export class WorkerPool {
  private readonly workers = new Map<number, { id: string; thread: Worker }>();
  private generation = 0;
  private closing = false;
  private recentDeaths = 0;

  constructor(private readonly options: PoolOptions) {
    if (options.slots < options.size) throw new RangeError(`slots (${options.slots}) must be at least the number of threads (${options.size})`);
  }

  /** Slots of thread `index`: the total split as evenly as it goes. */
  slotsOf(index: number): number {
    const { slots, size } = this.options;
    return Math.floor(slots / size) + (index < slots % size ? 1 : 0);
  }

  start(): void {
    for (let i = 0; i < this.options.size; i++) this.spawn(i);
  }

  get size(): number {
    return this.workers.size;
  }

  private spawn(index: number): void {
    const id = `w${index}.${this.generation++}`;
    const thread = new Worker(this.options.script, { workerData: { address: this.options.address, id, slots: this.slotsOf(index) } });
    this.workers.set(index, { id, thread });
    thread.on('message', (m: { event?: string; error?: string }) => {
      if (m?.event === 'worker_crashed') this.options.logger.error('worker_crashed', { worker: id, error: m.error });
    });
    thread.on('error', (err) => this.options.logger.error('worker_crashed', { worker: id, error: err.message }));
    thread.on('exit', (code) => {
      if (this.workers.get(index)?.id === id) this.workers.delete(index);
      if (this.closing) return;
      this.options.logger.warn('worker_exited', { worker: id, code });
      this.options.onExit(id, code);
      const pause = Delays.workerRestartMs(this.recentDeaths++);
      setTimeout(() => {
        this.recentDeaths = Math.max(0, this.recentDeaths - 1);
        if (!this.closing) this.spawn(index);
      }, pause).unref();
    });
  }

  /**
   * Waits up to `timeoutMs` for every thread to exit (the broker sent them
   * Stop: they finish their tasks first), then tells those left to exit at
   * once, abandoning their tasks: call it once every task's message is
   * settled or handed back. Each thread closes its own socket on the way out;
   * see worker.ts for why the process must not end while one is open.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    const threads = [...this.workers.values()];
    if (await this.exited(threads, timeoutMs)) return;
    const left = threads.filter(({ thread }) => thread.threadId !== -1);
    for (const { thread } of left) thread.postMessage(ThreadCommand.Exit);
    if (await this.exited(left, EXIT_WAIT_MS)) return;
    // Stuck in synchronous code: nothing can close its socket, and the process may abort as it exits.
    const stuck = left.filter(({ thread }) => thread.threadId !== -1).map(({ id }) => id);
    this.options.logger.error('workers_not_exiting', { workers: stuck });
  }

  /** True once all of `threads` have exited, false if `timeoutMs` passes first. */
  private async exited(threads: { thread: Worker }[], timeoutMs: number): Promise<boolean> {
    const exits = threads.map(({ thread }) => new Promise<void>((resolve) => {
      if (thread.threadId === -1) resolve();
      thread.once('exit', () => resolve());
    }));
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(exits).then(() => true);
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = await Promise.race([all, timeout]);
    clearTimeout(timer);
    return done;
  }
}
