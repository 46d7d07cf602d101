/**
 * A worker thread: one DEALER on the bus, several tasks at once. It announces
 * its slots, runs each task it is sent, and sends back the outcome. It holds
 * no database connection.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Dealer } from 'zeromq';
import { executeTask } from './execute.js';
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

async function finishIfStopping(): Promise<void> {
  if (!stopping || running > 0) return;
  await sending;
  dealer.close();
  process.exit(0);
}

dealer.connect(address);
void send([Frame.Ready, encode({ slots })]);

for await (const [type, body] of dealer) {
  const kind = type.toString();
  if (kind === Frame.Task) {
    const task = decode<WorkerTask>(body);
    running++;
    if (task.crash) setImmediate(() => { throw new Error(`injected crash on task ${task.id}`); });
    void executeTask(task)
      .then((outcome) => send([Frame.Done, encode(outcome)]))
      .finally(() => {
        running--;
        void finishIfStopping();
      });
  } else if (kind === Frame.Stop) {
    stopping = true;
    void finishIfStopping();
  }
}
