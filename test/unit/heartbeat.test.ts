import { jest } from '@jest/globals';
import {
  ChangeMessageVisibilityBatchCommand,
  SQSClient,
  type ChangeMessageVisibilityBatchCommandInput,
  type ChangeMessageVisibilityBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Logger } from '../../core/logger.js';
import { tryRelease, type ReleaseEntry } from '../../runner/acks.js';
import { VisibilityHeartbeat, type HeartbeatOptions } from '../../runner/heartbeat.js';

const QUEUE_URL = 'https://sqs.eu-west-3.amazonaws.com/123456789012/evalap-tasks';
const VISIBILITY_SEC = 30;
const INTERVAL_MS = 10_000;

const sqs = new SQSClient({ region: 'eu-west-3' });
const sqsMock = mockClient(sqs);

interface LogCall {
  level: 'debug' | 'info' | 'warn' | 'error';
  event: string;
  fields: Record<string, unknown>;
}

/** A logger that only remembers what it was told. */
function fakeLogger(): Logger & { calls: LogCall[]; events(event: string): LogCall[] } {
  const calls: LogCall[] = [];
  const at = (level: LogCall['level']) => (event: string, fields: Record<string, unknown> = {}) => {
    calls.push({ level, event, fields });
  };
  const logger = {
    calls,
    events: (event: string) => calls.filter((c) => c.event === event),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

/** Inputs of every ChangeMessageVisibilityBatch call so far, in order. */
function sentBatches(): ChangeMessageVisibilityBatchCommandInput[] {
  return sqsMock
    .commandCalls(ChangeMessageVisibilityBatchCommand)
    .map((call) => call.args[0].input as ChangeMessageVisibilityBatchCommandInput);
}

/** Receipt handles extended so far, in call order. */
function extendedHandles(): string[] {
  return sentBatches().flatMap((input) => (input.Entries ?? []).map((e) => e.ReceiptHandle as string));
}

/** Replies as SQS would when every entry succeeds. */
function allSucceed(input: ChangeMessageVisibilityBatchCommandInput): ChangeMessageVisibilityBatchCommandOutput {
  return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [], $metadata: {} };
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let logger: ReturnType<typeof fakeLogger>;
let heartbeat: VisibilityHeartbeat | undefined;

function startHeartbeat(overrides: Partial<HeartbeatOptions> = {}): VisibilityHeartbeat {
  heartbeat = new VisibilityHeartbeat({
    sqs,
    queueUrl: QUEUE_URL,
    visibilityTimeoutSec: VISIBILITY_SEC,
    intervalMs: INTERVAL_MS,
    logger,
    ...overrides,
  });
  heartbeat.start();
  return heartbeat;
}

beforeEach(() => {
  jest.useFakeTimers();
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake(allSucceed);
  logger = fakeLogger();
});

afterEach(async () => {
  await heartbeat?.close();
  heartbeat = undefined;
  jest.useRealTimers();
});

describe('VisibilityHeartbeat', () => {
  it('extends a tracked message once per interval with the configured visibility timeout', async () => {
    // Prepare
    const hb = startHeartbeat();
    hb.track('m-1', 'rh-1');

    // Act
    await jest.advanceTimersByTimeAsync(2 * INTERVAL_MS);

    // Assess
    expect(sentBatches()).toEqual([
      { QueueUrl: QUEUE_URL, Entries: [{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: VISIBILITY_SEC }] },
      { QueueUrl: QUEUE_URL, Entries: [{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: VISIBILITY_SEC }] },
    ]);
  });

  it('sends nothing while no message is due', async () => {
    const hb = startHeartbeat();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS / 2);
    hb.track('m-1', 'rh-1');

    // The first tick comes half an interval after receipt: too early to extend.
    await jest.advanceTimersByTimeAsync(INTERVAL_MS / 2);

    expect(sentBatches()).toEqual([]);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(extendedHandles()).toEqual(['rh-1']);
  });

  it('extends a message received just after a tick before its visibility expires when the interval is long', async () => {
    // 20 s ticks against a 30 s timeout: waiting a full interval of age would let it lapse at 30 s.
    const hb = startHeartbeat({ intervalMs: 20_000 });
    await jest.advanceTimersByTimeAsync(1);
    hb.track('m-1', 'rh-1');

    await jest.advanceTimersByTimeAsync(20_000 - 1);

    expect(extendedHandles()).toEqual(['rh-1']);
  });

  it('extends 25 tracked messages in three parallel calls of 10, 10 and 5 entries per tick', async () => {
    // Prepare: hold every reply so the three calls are all pending together.
    const reply = deferred<void>();
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake(async (input: ChangeMessageVisibilityBatchCommandInput) => {
      await reply.promise;
      return allSucceed(input);
    });
    const hb = startHeartbeat();
    for (let i = 0; i < 25; i++) hb.track(`m-${i}`, `rh-${i}`);

    // Act
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    // Assess
    const batches = sentBatches();
    expect(batches.map((b) => b.Entries?.length)).toEqual([10, 10, 5]);
    expect(extendedHandles()).toEqual(Array.from({ length: 25 }, (_, i) => `rh-${i}`));
    for (const batch of batches) {
      expect(batch.QueueUrl).toBe(QUEUE_URL);
      expect(new Set(batch.Entries?.map((e) => e.Id)).size).toBe(batch.Entries?.length);
      expect(batch.Entries?.every((e) => e.VisibilityTimeout === VISIBILITY_SEC)).toBe(true);
    }
    reply.resolve();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(sentBatches().map((b) => b.Entries?.length)).toEqual([10, 10, 5, 10, 10, 5]);
  });

  it('returns from tick the number of messages it extended', async () => {
    const hb = new VisibilityHeartbeat({ sqs, queueUrl: QUEUE_URL, visibilityTimeoutSec: 30, intervalMs: 10_000, logger });
    heartbeat = hb;
    hb.track('m-1', 'rh-1');
    hb.track('m-2', 'rh-2');

    expect(await hb.tick()).toBe(0);
    jest.advanceTimersByTime(INTERVAL_MS);

    expect(await hb.tick()).toBe(2);
  });

  it('stops extending a message once it is untracked', async () => {
    const hb = startHeartbeat();
    hb.track('m-1', 'rh-1');
    hb.track('m-2', 'rh-2');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    hb.untrack('m-1');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    expect(extendedHandles()).toEqual(['rh-1', 'rh-2', 'rh-2']);
    expect(hb.size).toBe(1);
  });

  it('does not resume extending a message untracked while its extension was in flight', async () => {
    const reply = deferred<void>();
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFakeOnce(async (input: ChangeMessageVisibilityBatchCommandInput) => {
      await reply.promise;
      return allSucceed(input);
    });
    const hb = startHeartbeat();
    hb.track('m-1', 'rh-1');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    hb.untrack('m-1');
    reply.resolve();
    await jest.advanceTimersByTimeAsync(2 * INTERVAL_MS);

    expect(extendedHandles()).toEqual(['rh-1']);
    expect(hb.size).toBe(0);
  });

  it('untracks and logs a message whose receipt handle SQS reports invalid', async () => {
    // Prepare
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake((input: ChangeMessageVisibilityBatchCommandInput) => {
      const bad = input.Entries?.find((e) => e.ReceiptHandle === 'rh-bad');
      return {
        Successful: (input.Entries ?? []).filter((e) => e !== bad).map((e) => ({ Id: e.Id })),
        Failed: bad
          ? [{ Id: bad.Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true, Message: 'The receipt handle has expired.' }]
          : [],
        $metadata: {},
      };
    });
    const hb = startHeartbeat();
    hb.track('m-good', 'rh-good');
    hb.track('m-bad', 'rh-bad');

    // Act
    await jest.advanceTimersByTimeAsync(2 * INTERVAL_MS);

    // Assess
    expect(extendedHandles()).toEqual(['rh-good', 'rh-bad', 'rh-good']);
    expect(hb.size).toBe(1);
    expect(logger.events('visibility_extension_failed')).toEqual([
      {
        level: 'warn',
        event: 'visibility_extension_failed',
        fields: expect.objectContaining({ id: 'm-bad', code: 'ReceiptHandleIsInvalid', untracked: true }),
      },
    ]);
  });

  it('keeps extending a message whose entry failed for a reason other than its receipt handle', async () => {
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake((input: ChangeMessageVisibilityBatchCommandInput) => ({
      Failed: (input.Entries ?? []).map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
      $metadata: {},
    }));
    const hb = startHeartbeat();
    hb.track('m-1', 'rh-1');

    await jest.advanceTimersByTimeAsync(2 * INTERVAL_MS);

    expect(extendedHandles()).toEqual(['rh-1', 'rh-1']);
    expect(hb.size).toBe(1);
    expect(logger.events('visibility_extension_failed').map((c) => c.fields)).toEqual([
      expect.objectContaining({ id: 'm-1', code: 'InternalError', untracked: false }),
      expect.objectContaining({ id: 'm-1', code: 'InternalError', untracked: false }),
    ]);
  });

  it('logs a rejected batch call and retries its messages on the next tick', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sqsMock.on(ChangeMessageVisibilityBatchCommand).rejectsOnce(throttled).callsFake(allSucceed);
    const hb = startHeartbeat();
    hb.track('m-1', 'rh-1');

    // Act
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    const failed = logger.events('visibility_batch_failed');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    // Assess
    expect(failed).toEqual([
      {
        level: 'warn',
        event: 'visibility_batch_failed',
        fields: expect.objectContaining({ ids: ['m-1'], code: 'ThrottlingException' }),
      },
    ]);
    expect(extendedHandles()).toEqual(['rh-1', 'rh-1']);
    expect(hb.size).toBe(1);
  });

  it('keeps a single timer when started twice', async () => {
    const hb = startHeartbeat();
    hb.start();
    hb.track('m-1', 'rh-1');

    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    expect(jest.getTimerCount()).toBe(1);
    expect(extendedHandles()).toEqual(['rh-1']);
  });

  it('clears its timer on close so nothing is sent afterwards', async () => {
    const hb = startHeartbeat();
    hb.track('m-1', 'rh-1');

    await hb.close();
    await jest.advanceTimersByTimeAsync(5 * INTERVAL_MS);

    expect(jest.getTimerCount()).toBe(0);
    expect(sentBatches()).toEqual([]);
    expect(await hb.tick()).toBe(0);
  });

  it('waits on close for a tick in progress and returns the same promise each time', async () => {
    // Prepare
    const reply = deferred<void>();
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake(async (input: ChangeMessageVisibilityBatchCommandInput) => {
      await reply.promise;
      return allSucceed(input);
    });
    const hb = startHeartbeat();
    hb.track('m-1', 'rh-1');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(sentBatches()).toHaveLength(1);

    // Act
    let closed = false;
    const closing = hb.close();
    void closing.then(() => (closed = true));
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    // Assess
    expect(hb.close()).toBe(closing);
    expect(closed).toBe(false);
    reply.resolve();
    await closing;
    expect(closed).toBe(true);
    expect(sentBatches()).toHaveLength(1);
  });

  it('rejects an interval that is not shorter than the visibility timeout, naming both', () => {
    const make = (intervalMs: number) =>
      new VisibilityHeartbeat({ sqs, queueUrl: QUEUE_URL, visibilityTimeoutSec: 30, intervalMs, logger });

    expect(() => make(30_000)).toThrow(RangeError);
    expect(() => make(45_000)).toThrow(/intervalMs \(45000\).*visibilityTimeoutSec \* 1000 \(30000\)/);
    expect(() => make(29_999)).not.toThrow();
  });
});

/** The ids whose release failed, refused by SQS or in a call that failed alike. */
async function releaseMessages(client: SQSClient, queueUrl: string, entries: readonly ReleaseEntry[]): Promise<string[]> {
  const { refused, unsent } = await tryRelease(client, queueUrl, entries);
  return [...refused, ...unsent];
}

describe('releasing messages (tryRelease)', () => {
  it('makes messages visible at once in batches of 10', async () => {
    const entries = Array.from({ length: 12 }, (_, i) => ({ id: `m-${i}`, receiptHandle: `rh-${i}` }));

    const failed = await releaseMessages(sqs, QUEUE_URL, entries);

    expect(failed).toEqual([]);
    expect(sentBatches()).toEqual([
      {
        QueueUrl: QUEUE_URL,
        Entries: entries.slice(0, 10).map((e, i) => ({ Id: String(i), ReceiptHandle: e.receiptHandle, VisibilityTimeout: 0 })),
      },
      {
        QueueUrl: QUEUE_URL,
        Entries: entries.slice(10).map((e, i) => ({ Id: String(i), ReceiptHandle: e.receiptHandle, VisibilityTimeout: 0 })),
      },
    ]);
  });

  it('hides a message for its given delay', async () => {
    await releaseMessages(sqs, QUEUE_URL, [
      { id: 'm-1', receiptHandle: 'rh-1', delaySec: 120 },
      { id: 'm-2', receiptHandle: 'rh-2' },
    ]);

    expect(sentBatches()).toEqual([
      {
        QueueUrl: QUEUE_URL,
        Entries: [
          { Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 120 },
          { Id: '1', ReceiptHandle: 'rh-2', VisibilityTimeout: 0 },
        ],
      },
    ]);
  });

  it('returns the ids of failed entries and of every entry in a rejected call', async () => {
    sqsMock
      .on(ChangeMessageVisibilityBatchCommand)
      .callsFakeOnce(() => ({
        Successful: [{ Id: '0' }],
        Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', SenderFault: true }],
        $metadata: {},
      }))
      .rejectsOnce(new Error('connection reset'));
    const entries = Array.from({ length: 12 }, (_, i) => ({ id: `m-${i}`, receiptHandle: `rh-${i}` }));

    const failed = await releaseMessages(sqs, QUEUE_URL, entries);

    expect(failed.sort()).toEqual(['m-1', 'm-10', 'm-11']);
  });

  it('sends nothing when there is nothing to release', async () => {
    expect(await releaseMessages(sqs, QUEUE_URL, [])).toEqual([]);
    expect(sentBatches()).toEqual([]);
  });
});
