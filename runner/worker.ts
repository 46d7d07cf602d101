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
import { executeTask } from './execute.js';
import { warmUp } from './warm-up.js';
import { decode, encode, Frame, type WorkerTask } from './protocol.js';

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

// An exception escaping a task must not take the process down with it: a
// thread that dies with an open socket aborts the whole runner. Close the
// socket and end only this thread; the pool replaces it.
function die(err: unknown): void {
  parentPort?.postMessage({ event: 'worker_crashed', error: err instanceof Error ? err.message : String(err) });
  dealer.close();
  process.exit(1);
}
process.on('uncaughtException', die);
process.on('unhandledRejection', die);

let running = 0;
let stopping = false;
/** Tasks sent while every slot was busy, in arrival order. */
let waiting: WorkerTask[] = [];

async function finishIfStopping(): Promise<void> {
  if (!stopping || running > 0 || waiting.length > 0) return;
  await sending;
  dealer.close();
  process.exit(0);
}

function handBack(ids: Set<number> | 'all'): void {
  const back = ids === 'all' ? waiting : waiting.filter((t) => ids.has(t.id));
  if (!back.length) return;
  waiting = ids === 'all' ? [] : waiting.filter((t) => !ids.has(t.id));
  void send([Frame.Returned, encode({ ids: back.map((t) => t.id) })]);
}

function run(task: WorkerTask): void {
  running++;
  if (task.crash) setImmediate(() => { throw new Error(`injected crash on task ${task.id}`); });
  void executeTask(task).then((outcome) => {
    running--;
    const failed = outcome.call && !outcome.call.ok && outcome.call.retryable;
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
    // At a run's start that held 32 first requests back for ~40 ms.
    if (running > before) await new Promise((r) => setImmediate(r));
  } else if (kind === Frame.Recall) {
    handBack(new Set(decode<{ ids: number[] }>(body).ids));
    void finishIfStopping();
  } else if (kind === Frame.Stop) {
    stopping = true;
    void finishIfStopping();
  }
}
