/**
 * The broker against a hand-driven worker (a real DEALER over ipc) and a
 * manual clock: credit with look-ahead while a model's limiter is open,
 * recall of waiting tasks when it stops being open, paced starts after a 429,
 * nothing sent during a confirmed Retry-After block, handed back tasks first in line, and a paused broker
 * that sends nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dealer } from 'zeromq';
import { createLogger } from '../../core/logger.js';
import { Broker, type Dispatchable } from '../../runner/broker.js';
import { Limiters } from '../../runner/limiter.js';
import { decode, encode, Frame, type WorkerOutcome, type WorkerTask } from '../../runner/protocol.js';
import { ManualClock } from '../support/manual-clock.js';

let dir: string;
let broker: Broker;
let worker: Dealer;
let clock: ManualClock;
let limiters: Limiters;
const outcomes: number[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-bus-test-'));
  const address = `ipc://${path.join(dir, 'bus.sock')}`;
  outcomes.length = 0;
  clock = new ManualClock();
  limiters = new Limiters({ maxConcurrency: 2, clock });
  broker = new Broker({
    address,
    limiters,
    logger: createLogger({ level: 'silent' }),
    onOutcome: (task) => void outcomes.push(task.wire.id),
    onLost: () => undefined,
    clock,
  });
  await broker.bind();
  worker = new Dealer({ routingId: 'w0', linger: 0 });
  worker.connect(address);
  await worker.send([Frame.Ready, encode({ slots: 2 })]);
  expect(await broker.workersReady(1, 2000)).toBe(true);
});

afterEach(async () => {
  worker.close();
  await broker.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A task calling model 'm', or no model with `modelKey` null. */
const task = (id: number, modelKey: string | null = 'm'): Dispatchable => ({
  wire: { id, kind: 'answer', attempt: 0, experimentId: 1, numLine: id, row: {}, inline: [], timeoutMs: 1000 } as WorkerTask,
  modelKey: modelKey ?? undefined,
  notBefore: 0,
});

/**
 * The frames the broker has sent the worker so far. It is then asked to send
 * Stop, which it sends after them, and one connection keeps their order: the
 * frames before Stop are all there are, with no quiet window to wait out.
 */
async function drain(): Promise<{ kind: string; body: any }[]> {
  broker.stopWorkers();
  const frames: { kind: string; body: any }[] = [];
  for (;;) {
    const [kind, body] = await worker.receive();
    if (kind.toString() === Frame.Stop) return frames;
    frames.push({ kind: kind.toString(), body: body.length ? decode(body) : null });
  }
}

/**
 * Until `seen` holds: the broker reads the bus in a loop of its own, and acts
 * on a frame (and sends what follows from it) before that holds. The 5 s
 * only turn a broker that never does into a failure that says so.
 */
async function processed(seen: () => boolean, what: string): Promise<void> {
  const giveUpAt = Date.now() + 5000;
  while (!seen()) {
    if (Date.now() > giveUpAt) throw new Error(`the broker never ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The worker reports task `id` done; resolves once the broker has taken the outcome. */
async function done(id: number, call: WorkerOutcome['call']): Promise<void> {
  await worker.send([Frame.Done, encode({ id, call, observations: [] } satisfies WorkerOutcome)]);
  await processed(() => outcomes.includes(id), `took the outcome of task ${id}`);
}

/** The worker hands back tasks `ids` unstarted; resolves once the broker has them waiting again. */
async function handBack(ids: number[]): Promise<void> {
  const before = broker.pendingCount;
  await worker.send([Frame.Returned, encode({ ids })]);
  await processed(() => broker.pendingCount === before + ids.length, `kept the tasks handed back (${ids}) waiting`);
}

/** A first window of calls to model 'm' (2 slots) succeeds: its limiter opens to look-ahead. Uses task ids 101, 102. */
async function warmUp(): Promise<void> {
  broker.submit(task(101));
  broker.submit(task(102));
  broker.submit(task(1));
  // Not open yet: only the free slots are filled.
  expect((await drain()).map((f) => f.body.id)).toEqual([101, 102]);
  await done(101, { ok: true, tokens: 1 });
  await done(102, { ok: true, tokens: 1 });
}

describe('Broker', () => {
  it('sends a worker one waiting task per slot beyond its slots once the model limiter is open', async () => {
    await warmUp();
    for (let id = 2; id <= 6; id++) broker.submit(task(id));
    const sent = await drain();
    expect(sent.map((f) => [f.kind, f.body.id])).toEqual([[Frame.Task, 1], [Frame.Task, 2], [Frame.Task, 3], [Frame.Task, 4]]);
    expect(broker.pendingCount).toBe(2);
    await done(1, { ok: true, tokens: 3 });
    expect((await drain()).map((f) => f.body.id)).toEqual([5]);
    expect(outcomes).toEqual([101, 102, 1]);
  });

  it('on a 429 recalls the waiting tasks of that model and paces them; once a refusal confirms the pace, sends nothing of it before Retry-After has passed', async () => {
    await warmUp();
    for (let id = 2; id <= 5; id++) broker.submit(task(id));
    expect((await drain()).map((f) => f.body.id)).toEqual([1, 2, 3, 4]);
    const throttledAt = clock.now();
    await done(1, { ok: false, kind: 'throttle', retryable: true, retryAfterMs: 800, message: '429' });
    const recall = await drain();
    expect(recall).toEqual([{ kind: Frame.Recall, body: { ids: [2, 3, 4] } }]);
    // Task 2 had started; 3 and 4 had not: they come back and go first again.
    await handBack([3, 4]);
    expect(await drain()).toEqual([]);
    expect(broker.pendingCount).toBe(3);
    // Task 2 is done: the limiter (cut to 1) has a free slot, but the learned pace (5 of 6 starts
    // of the last second accepted: one start per 210.5 ms) holds the next start, not the Retry-After.
    await clock.advance(5);
    await done(2, { ok: true, tokens: 1 });
    expect(await drain()).toEqual([]);
    await clock.advance(206);
    const paced = await drain();
    expect(paced.map((f) => [f.kind, f.body.id])).toEqual([[Frame.Task, 3]]);
    expect(clock.now() - throttledAt).toBe(211);
    // Task 3, sent under the pace, is refused too: now nothing starts until its Retry-After has passed.
    const confirmedAt = clock.now();
    await done(3, { ok: false, kind: 'throttle', retryable: true, retryAfterMs: 800, message: '429' });
    await clock.advance(799);
    expect(await drain()).toEqual([]);
    await clock.advance(1);
    const resumed = await drain();
    expect(resumed[0]).toMatchObject({ kind: Frame.Task, body: { id: 4 } });
    expect(clock.now() - confirmedAt).toBe(800);
  });

  it('keeps a model wanted while a task for it waits its retry delay, so its runner keeps its share', async () => {
    broker.submit({ ...task(1), notBefore: clock.now() + 5000 });
    expect(await drain()).toEqual([]);
    await clock.advance(4000);
    expect(limiters.get('m').sharedState().demand).toBe(true);
    await clock.advance(1000);
    expect((await drain()).map((f) => f.body.id)).toEqual([1]);
  });

  it('sends tasks without a model ahead regardless of limiters, and nothing at all once paused', async () => {
    for (let id = 1; id <= 3; id++) broker.submit(task(id, null));
    expect((await drain()).map((f) => f.body.id)).toEqual([1, 2, 3]);
    broker.pause();
    expect(await drain()).toEqual([{ kind: Frame.Recall, body: { ids: [1, 2, 3] } }]);
    await handBack([3]);
    broker.submit(task(4, null));
    await done(1, { ok: true, tokens: 0 });
    expect(await drain()).toEqual([]);
    expect(broker.drainPending().map((t) => t.wire.id)).toEqual([3, 4]);
  });
});
