/**
 * A worker thread script for the runner's fault tests: the real built worker
 * (dist/runner/worker.js), except that its thread dies on the first attempt
 * of the model call for the row whose query is CRASH_ON_QUERY, as a thread
 * would on a bug in a task. The worker's tasks arrive on its bus socket, so
 * the socket's receive is where this looks at them (frames as
 * runner/protocol.ts defines them: `task` carries a WorkerTask as JSON).
 */
import zmq from 'zeromq';

const CRASH_ON_QUERY = 'question 3';
const TASK_FRAME = 'task';

const receive = zmq.Dealer.prototype.receive;
// The native socket's receive is read-only: defined over, on Dealer's own prototype.
Object.defineProperty(zmq.Dealer.prototype, 'receive', { configurable: true, writable: true, value: async function receiveWatched() {
  const frames = await receive.call(this);
  const [type, body] = frames;
  if (type.toString() === TASK_FRAME) {
    const task = JSON.parse(body.toString());
    if (task.model && task.attempt === 0 && task.row?.query === CRASH_ON_QUERY) {
      // Thrown outside any promise chain: the worker's uncaughtException handler ends the thread, as for any bug.
      setImmediate(() => { throw new Error(`crash on the first attempt of task ${task.id} (test worker)`); });
    }
  }
  return frames;
} });

await import('../../dist/runner/worker.js');
