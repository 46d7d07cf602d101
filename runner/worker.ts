/**
 * A worker thread: one DEALER on the bus, several tasks at once. It announces
 * its slots, runs each task it is sent, and sends back the outcome. It holds
 * no database connection.
 *
 * The broker may send a task while every slot is busy: it waits here and
 * starts the moment a slot frees, without a round trip through the main
 * thread. A call that fails in a way that may concern its model (429, 5xx,
 * timeout) hands every waiting task back, so the broker's limiter decides
 * again; the broker also recalls waiting tasks whose model it stops trusting.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Dealer } from 'zeromq';
import { closeWorkerResources, executeTask } from './execute.js';
import { warmUp } from './warm-up.js';
import { ThreadCommand } from './pool.js';
import { decode, encode, Frame, type WorkerOutcome, type WorkerTask } from './protocol.js';
import { isRetryableFailure } from '../core/backoff.js';
import { missingAnswerInput } from '../core/metrics/requirements.js';

interface WorkerData {
  address: string;
  id: string;
  slots: number;
}

const { address, id, slots } = workerData as WorkerData;
// linger: outcomes sent just before a graceful close must still leave.
const dealer = new Dealer({ routingId: id, linger: 2000 });

// One pending send per socket (zeromq rejects a second with EBUSY): every send goes through this chain.
let sending: Promise<unknown> = Promise.resolve();
const send = (frames: (string | Buffer)[]) => (sending = sending.then(() => dealer.send(frames)).catch(() => undefined));

/**
 * Every way out of this thread goes through here. A thread must close its
 * socket itself before it ends: when a thread is torn down (its own
 * process.exit without close, worker.terminate(), or the process exiting)
 * with a receive pending, zeromq's cleanup throws from a destructor and the
 * whole process aborts ("terminate called after throwing an instance of
 * 'Napi::Error'", zeromq/zeromq.js#411; reproduced with zeromq 6.8).
 */
function exitThread(code: number): never {
  dealer.close();
  process.exit(code);
}

// An exception escaping a task must not take the process down with it: end
// only this thread; the pool replaces it.
function die(err: unknown): void {
  parentPort?.postMessage({ event: 'worker_crashed', error: err instanceof Error ? err.message : String(err) });
  exitThread(1);
}
process.on('uncaughtException', die);
process.on('unhandledRejection', die);

// The pool's last word at shutdown, on the thread's own port (it arrives even
// when the bus's Stop cannot: a thread not yet on the bus, a send that never
// leaves). Its tasks' messages were already handed back, so nothing more is
// worth sending: no linger.
parentPort?.on('message', (m: unknown) => {
  if (m !== ThreadCommand.Exit) return;
  dealer.linger = 0;
  exitThread(0);
});

let running = 0;
let stopping = false;
/** Tasks sent while every slot was busy, in arrival order. */
let waiting: WorkerTask[] = [];

async function finishIfStopping(): Promise<void> {
  if (!stopping || running > 0 || waiting.length > 0) return;
  await sending;
  // MCP servers' child processes and HTTP sessions end with the worker, not with the process.
  await closeWorkerResources().catch(() => undefined);
  exitThread(0);
}

function handBack(ids: Set<number> | 'all'): void {
  const back = ids === 'all' ? waiting : waiting.filter((t) => ids.has(t.id));
  if (!back.length) return;
  waiting = ids === 'all' ? [] : waiting.filter((t) => !ids.has(t.id));
  void send([Frame.Returned, encode({ ids: back.map((t) => t.id) })]);
}

/** A judged observation whose row lacks what the metric reads fails here, without a judge call. */
function lackingInput(task: WorkerTask): WorkerOutcome | null {
  if (task.kind !== 'observation' || !task.judge) return null;
  const error_msg = missingAnswerInput(task.judge.name, task.judge.params, task.row, task.answer);
  return error_msg ? { id: task.id, observations: [{ resultId: task.judge.resultId, score: null, observation: null, error_msg, execution_time: 0 }] } : null;
}

function run(task: WorkerTask): void {
  running++;
  const lacking = lackingInput(task);
  void (lacking ? Promise.resolve(lacking) : executeTask(task)).then((outcome) => {
    running--;
    const failed = isRetryableFailure(outcome.call);
    // The freed slot goes to the next waiting task before the outcome leaves: no round trip.
    if (!failed) startWaiting();
    void send([Frame.Done, encode(outcome)]);
    if (failed) handBack('all');
    void finishIfStopping();
  });
}

function startWaiting(): void {
  while (running < slots && waiting.length) run(waiting.shift()!);
}

await warmUp();
dealer.connect(address);
void send([Frame.Ready, encode({ slots })]);

for await (const [type, body] of dealer) {
  const kind = type.toString();
  if (kind === Frame.Task) {
    waiting.push(decode<WorkerTask>(body));
    const before = running;
    startWaiting();
    // A backlog of frames is read without returning to the event loop: yield after starting a
    // task, or its connect and write (and every answer arriving) wait for the whole backlog.
    // At a run's start that held the first requests back.
    if (running > before) await new Promise((r) => setImmediate(r));
  } else if (kind === Frame.Recall) {
    handBack(new Set(decode<{ ids: number[] }>(body).ids));
    void finishIfStopping();
  } else if (kind === Frame.Stop) {
    stopping = true;
    void finishIfStopping();
  }
}
