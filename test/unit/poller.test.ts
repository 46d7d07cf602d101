import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Timer } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { Poller } from '../../runner/poller.js';
import { ManualClock, settle } from '../support/manual-clock.js';

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };

/**
 * An in-memory queue answering ReceiveMessage like SQS does: at once when
 * messages are ready, else when one arrives, else empty after `waitMs` on `clock`.
 */
function fakeQueue(clock: ManualClock, waitMs: number) {
  const ready: Message[] = [];
  let waiting: { max: number; resolve: (m: Message[]) => void; timer: Timer }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let receives = 0;
  const serve = () => {
    while (ready.length && waiting.length) {
      const w = waiting.shift()!;
      clock.clearTimeout(w.timer);
      w.resolve(ready.splice(0, w.max));
    }
  };
  const sqs = {
    async send(cmd: ReceiveMessageCommand) {
      receives++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        const max = cmd.input.MaxNumberOfMessages ?? 1;
        if (ready.length) return { Messages: ready.splice(0, max) };
        const messages = await new Promise<Message[]>((resolve) => {
          const w = { max, resolve, timer: clock.setTimeout(() => { waiting = waiting.filter((x) => x !== w); resolve([]); }, waitMs) };
          waiting.push(w);
        });
        return { Messages: messages.length ? messages : undefined };
      } finally {
        inFlight--;
      }
    },
  };
  let nextId = 0;
  return {
    sqs: sqs as unknown as SQSClient,
    push(n: number) {
      for (let i = 0; i < n; i++) ready.push({ MessageId: String(nextId++), ReceiptHandle: `rh-${nextId}`, Body: '{}' });
      serve();
    },
    get inFlight() { return inFlight; },
    get maxInFlight() { return maxInFlight; },
    get receives() { return receives; },
    resetMax() { maxInFlight = inFlight; },
  };
}

describe('Poller', () => {
  let poller: Poller | undefined;
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });
  afterEach(async () => {
    // Receives in flight end when their long poll does: time runs on until they have.
    const stopped = poller?.stop();
    await clock.advance(60_000);
    await stopped;
    poller = undefined;
  });

  function start(queue: ReturnType<typeof fakeQueue>, credits: () => number, loops: number, got: Message[]) {
    poller = new Poller({ sqs: queue.sqs, queueUrl: 'q', waitSec: 1, visibilityTimeoutSec: 30, credits, onMessages: (m) => got.push(...m), logger: silent, loops, clock });
    poller.start();
  }

  test('an idle queue gets one long poll at a time, not one per loop', async () => {
    const queue = fakeQueue(clock, 20);
    const got: Message[] = [];
    start(queue, () => 100, 6, got);
    // The first round: every loop polls once and comes back empty; one of them polls again.
    await settle();
    expect(queue.receives).toBe(6);
    await clock.advance(20);
    expect(queue.receives).toBe(7);
    queue.resetMax();
    const before = queue.receives;
    await clock.advance(200);
    expect(queue.maxInFlight).toBe(1);
    // One empty long poll per 20 ms, not six.
    expect(queue.receives - before).toBe(10);
    expect(got).toHaveLength(0);
  });

  test('messages wake the parked loops: a backlog is drained by several receives at once', async () => {
    const queue = fakeQueue(clock, 50);
    const got: Message[] = [];
    start(queue, () => 1000 - got.length, 6, got);
    await clock.advance(120);
    expect(queue.inFlight).toBe(1);
    queue.resetMax();
    queue.push(10);
    await settle();
    expect(got).toHaveLength(10);
    queue.push(500);
    await settle();
    expect(got).toHaveLength(510);
    expect(queue.maxInFlight).toBeGreaterThan(1);
    expect(new Set(got.map((m) => m.MessageId)).size).toBe(510);
  });

  test('never asks for more than the free credits', async () => {
    const queue = fakeQueue(clock, 20);
    const got: Message[] = [];
    start(queue, () => 25 - got.length, 6, got);
    queue.push(100);
    await settle();
    expect(got).toHaveLength(25);
    await clock.advance(60);
    expect(got).toHaveLength(25);
  });

  test('receives nothing while held, and takes the waiting messages once the hold settles', async () => {
    const queue = fakeQueue(clock, 20);
    const got: Message[] = [];
    start(queue, () => 100, 3, got);
    await settle();
    expect(queue.receives).toBe(3);
    let release!: () => void;
    poller!.hold(new Promise<void>((r) => (release = r)));
    // A receive already out may still come back; after it, none is sent.
    await clock.advance(20);
    expect(queue.inFlight).toBe(0);
    const before = queue.receives;
    queue.push(5);
    await clock.advance(150);
    expect(queue.receives).toBe(before);
    expect(got).toHaveLength(0);
    release();
    await settle();
    expect(got).toHaveLength(5);
  });

  test('backs off while SQS fails, logs the outage once and its end once', async () => {
    const lines: [string, Record<string, unknown>][] = [];
    const logger: Logger = { ...silent, warn: (event, fields = {}) => lines.push([event, fields]), info: (event, fields = {}) => lines.push([event, fields]) };
    let down = true;
    let calls = 0;
    const sqs = {
      async send() {
        calls++;
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9324'), { code: 'ECONNREFUSED' });
        await clock.sleep(10);
        return { Messages: undefined };
      },
    } as unknown as SQSClient;
    poller = new Poller({ sqs, queueUrl: 'q', waitSec: 1, visibilityTimeoutSec: 30, credits: () => 100, onMessages: () => undefined, logger, loops: 4, clock });
    poller.start();
    await settle();
    // Each of the four loops failed once and waits: no second call before any time has passed…
    expect(calls).toBe(4);
    // …nor before the shortest first wait (400 ms jittered down to half).
    await clock.advance(199);
    expect(calls).toBe(4);
    // Then a loop tries again, and waits longer each time (200–400 ms, 400–800 ms, 800–1600 ms): a handful of calls in the first second, not hundreds.
    await clock.advance(801);
    expect(calls).toBeGreaterThanOrEqual(5);
    expect(calls).toBeLessThanOrEqual(16);
    down = false;
    // Past the longest wait a loop can be in by now.
    await clock.advance(2000);
    expect(lines.filter(([e]) => e === 'receive_failed')).toHaveLength(1);
    expect(lines.filter(([e]) => e === 'sqs_reachable_again')).toHaveLength(1);
    expect(lines.find(([e]) => e === 'sqs_reachable_again')![1]).toMatchObject({ after: 'receive_failed', failed_calls: expect.any(Number) });
  });
});
