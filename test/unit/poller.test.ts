import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../../core/logger.js';
import { Poller } from '../../runner/poller.js';

const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent };

/**
 * An in-memory queue answering ReceiveMessage like SQS does: at once when
 * messages are ready, else when one arrives, else empty after `waitMs`.
 */
function fakeQueue(waitMs: number) {
  const ready: Message[] = [];
  let waiting: { max: number; resolve: (m: Message[]) => void; timer: NodeJS.Timeout }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let receives = 0;
  const serve = () => {
    while (ready.length && waiting.length) {
      const w = waiting.shift()!;
      clearTimeout(w.timer);
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
          const w = { max, resolve, timer: setTimeout(() => { waiting = waiting.filter((x) => x !== w); resolve([]); }, waitMs) };
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

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('Poller', () => {
  let poller: Poller | undefined;
  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });

  function start(queue: ReturnType<typeof fakeQueue>, credits: () => number, loops: number, got: Message[]) {
    poller = new Poller({ sqs: queue.sqs, queueUrl: 'q', waitSec: 1, visibilityTimeoutSec: 30, credits, onMessages: (m) => got.push(...m), logger: silent, loops });
    poller.start();
  }

  test('an idle queue gets one long poll at a time, not one per loop', async () => {
    const queue = fakeQueue(20);
    const got: Message[] = [];
    start(queue, () => 100, 6, got);
    // The first round: every loop polls once and comes back empty.
    await until(() => queue.receives >= 12);
    queue.resetMax();
    const before = queue.receives;
    await new Promise((r) => setTimeout(r, 200));
    expect(queue.maxInFlight).toBe(1);
    // About one empty long poll per 20 ms, not six.
    expect(queue.receives - before).toBeLessThan(15);
    expect(got).toHaveLength(0);
  });

  test('messages wake the parked loops: a backlog is drained by several receives at once', async () => {
    const queue = fakeQueue(50);
    const got: Message[] = [];
    start(queue, () => 1000 - got.length, 6, got);
    await new Promise((r) => setTimeout(r, 120));
    expect(queue.inFlight).toBe(1);
    queue.resetMax();
    queue.push(10);
    await until(() => got.length === 10);
    queue.push(500);
    await until(() => got.length === 510);
    expect(queue.maxInFlight).toBeGreaterThan(1);
    expect(new Set(got.map((m) => m.MessageId)).size).toBe(510);
  });

  test('never asks for more than the free credits', async () => {
    const queue = fakeQueue(20);
    const got: Message[] = [];
    start(queue, () => 25 - got.length, 6, got);
    queue.push(100);
    await until(() => got.length === 25);
    await new Promise((r) => setTimeout(r, 60));
    expect(got).toHaveLength(25);
  });

  test('receives nothing while held, and takes the waiting messages once the hold settles', async () => {
    const queue = fakeQueue(20);
    const got: Message[] = [];
    start(queue, () => 100, 3, got);
    await until(() => queue.receives >= 3);
    let release!: () => void;
    poller!.hold(new Promise<void>((r) => (release = r)));
    // A receive already out may still come back; after it, none is sent.
    await until(() => queue.inFlight === 0);
    const before = queue.receives;
    queue.push(5);
    await new Promise((r) => setTimeout(r, 150));
    expect(queue.receives).toBe(before);
    expect(got).toHaveLength(0);
    release();
    await until(() => got.length === 5);
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
        await new Promise((r) => setTimeout(r, 10));
        return { Messages: undefined };
      },
    } as unknown as SQSClient;
    poller = new Poller({ sqs, queueUrl: 'q', waitSec: 1, visibilityTimeoutSec: 30, credits: () => 100, onMessages: () => undefined, logger, loops: 4 });
    poller.start();
    await new Promise((r) => setTimeout(r, 1000));
    // Four loops, each waiting 200 ms, 400 ms, 800 ms... (jittered down to half): a handful of calls a second, not hundreds.
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(calls).toBeLessThanOrEqual(16);
    down = false;
    await until(() => lines.some(([e]) => e === 'sqs_reachable_again'), 5000);
    expect(lines.filter(([e]) => e === 'receive_failed')).toHaveLength(1);
    expect(lines.filter(([e]) => e === 'sqs_reachable_again')).toHaveLength(1);
    expect(lines.find(([e]) => e === 'sqs_reachable_again')![1]).toMatchObject({ after: 'receive_failed', failed_calls: expect.any(Number) });
  });
});
