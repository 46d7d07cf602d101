/**
 * Deletes and releases of received messages (runner/acks.ts). The request
 * shapes and SQS's partial failures are checked on a mocked client; that a
 * delete or a release does to a message what the runner relies on (gone;
 * visible again; hidden for a delay), and that a message is deleted only
 * once its outcome is committed, on the SQS-compatible server of the test
 * run. Time is a manual clock.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type ChangeMessageVisibilityBatchCommandInput,
  type DeleteMessageBatchCommandInput,
  type DeleteMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createLogger } from '../../core/logger.js';
import { SQS_BATCH_MAX } from '../../core/queue.js';
import { createPool } from '../../core/store/pool.js';
import { Acks, tryRelease, type Receipt } from '../../runner/acks.js';
import { Committer } from '../../runner/committer.js';
import { freshQueue, makeDf, sqsClient, startApi } from '../support/api.js';
import { ManualClock, settle } from '../support/manual-clock.js';

const QUEUE_URL = 'https://sqs.eu-west-3.amazonaws.com/123456789012/evalap-tasks';
const DELAY_MS = 100;

const mocked = new SQSClient({ region: 'eu-west-3' });
const sqsMock = mockClient(mocked);

let logs: Record<string, unknown>[];
const logger = createLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line)) });
const logged = (event: string) => logs.filter((l) => l.event === event);

const receipts = (count: number, from = 0): Receipt[] => Array.from({ length: count }, (_, i) => ({ id: `m${from + i}`, receiptHandle: `h${from + i}` }));
const deleteCalls = () => sqsMock.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input as DeleteMessageBatchCommandInput);
const releaseCalls = () => sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => c.args[0].input as ChangeMessageVisibilityBatchCommandInput);
const deletedHandles = () => deleteCalls().map((input) => (input.Entries ?? []).map((e) => e.ReceiptHandle));

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

beforeEach(() => {
  logs = [];
  sqsMock.reset();
  sqsMock.on(DeleteMessageBatchCommand).callsFake(async (input: DeleteMessageBatchCommandInput) => ({ Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] }));
  sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake(async (input: ChangeMessageVisibilityBatchCommandInput) => ({ Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] }));
});

describe('Acks deletes', () => {
  it('gathers deletes for delayMs after the first, then sends them in one DeleteMessageBatch', async () => {
    const clock = new ManualClock();
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, clock);
    for (const r of receipts(3)) acks.delete(r);
    await clock.advance(DELAY_MS - 1);
    expect(deleteCalls()).toEqual([]);
    await clock.advance(1);
    expect(deleteCalls()).toEqual([{ QueueUrl: QUEUE_URL, Entries: [{ Id: '0', ReceiptHandle: 'h0' }, { Id: '1', ReceiptHandle: 'h1' }, { Id: '2', ReceiptHandle: 'h2' }] }]);
  });

  it('sends a full batch of SQS_BATCH_MAX at once, and gathers the next delete anew', async () => {
    const clock = new ManualClock();
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, clock);
    for (const r of receipts(SQS_BATCH_MAX + 1)) acks.delete(r);
    await settle();
    expect(deletedHandles()).toEqual([receipts(SQS_BATCH_MAX).map((r) => r.receiptHandle)]);
    await clock.advance(DELAY_MS);
    expect(deletedHandles()).toEqual([receipts(SQS_BATCH_MAX).map((r) => r.receiptHandle), [`h${SQS_BATCH_MAX}`]]);
  });

  it('logs the messages whose entries DeleteMessageBatch refused, by message id, and sends them no more', async () => {
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }, { Id: '2' }], Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', SenderFault: true }] } as DeleteMessageBatchCommandOutput);
    const clock = new ManualClock();
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, clock);
    for (const r of receipts(3)) acks.delete(r);
    await acks.drain();
    expect(logged('delete_failed')).toEqual([expect.objectContaining({ level: 'warn', ids: ['m1'], code: 'ReceiptHandleIsInvalid' })]);
    await clock.advance(DELAY_MS);
    expect(deleteCalls()).toHaveLength(1);
  });

  it('logs a delete call that fails as a whole once per outage, with its message ids, and the first success after it', async () => {
    sqsMock.on(DeleteMessageBatchCommand).rejectsOnce(new Error('connect ECONNREFUSED')).rejectsOnce(new Error('connect ECONNREFUSED')).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, new ManualClock());
    for (const batch of [receipts(2), receipts(1, 2), receipts(1, 3)]) {
      for (const r of batch) acks.delete(r);
      await acks.drain();
    }
    expect(logged('delete_failed')).toEqual([expect.objectContaining({ ids: ['m0', 'm1'], error: 'connect ECONNREFUSED', failed_calls: 1 })]);
    expect(logged('sqs_reachable_again')).toEqual([expect.objectContaining({ after: 'delete_failed', failed_calls: 2 })]);
  });

  it('sends pending deletes on drain without waiting for delayMs, and resolves only once SQS has answered', async () => {
    const answer = deferred<DeleteMessageBatchCommandOutput>();
    sqsMock.on(DeleteMessageBatchCommand).callsFake(() => answer.promise);
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, new ManualClock());
    acks.delete(receipts(1)[0]);
    let drained = false;
    const draining = acks.drain().then(() => (drained = true));
    await settle();
    expect(deletedHandles()).toEqual([['h0']]);
    expect(drained).toBe(false);
    answer.resolve({ Successful: [{ Id: '0' }], Failed: [], $metadata: {} });
    await draining;
    expect(drained).toBe(true);
  });
});

describe('Acks releases', () => {
  it('makes messages visible again after delaySec in ChangeMessageVisibilityBatch calls of at most SQS_BATCH_MAX entries', async () => {
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, new ManualClock());
    await acks.release(receipts(25), 7);
    const calls = releaseCalls();
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 10, 5]);
    expect(calls.every((c) => c.QueueUrl === QUEUE_URL)).toBe(true);
    expect(calls.flatMap((c) => c.Entries ?? [])).toEqual(receipts(25).map((r, i) => ({ Id: String(i % 10), ReceiptHandle: r.receiptHandle, VisibilityTimeout: 7 })));
  });

  it('releases at once (visibility 0) by default, and sends nothing for no receipts', async () => {
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, new ManualClock());
    await acks.release([]);
    expect(releaseCalls()).toEqual([]);
    await acks.release(receipts(1));
    expect(releaseCalls()[0].Entries).toEqual([{ Id: '0', ReceiptHandle: 'h0', VisibilityTimeout: 0 }]);
  });

  it('logs the messages whose entries SQS refused apart from those of a call that failed as a whole', async () => {
    sqsMock
      .on(ChangeMessageVisibilityBatchCommand)
      .resolvesOnce({ Successful: [{ Id: '0' }], Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', SenderFault: true }] })
      .rejectsOnce(new Error('socket hang up'));
    const acks = new Acks(mocked, QUEUE_URL, logger, DELAY_MS, new ManualClock());
    await acks.release(receipts(2));
    await acks.release(receipts(2, 50));
    expect(logged('release_failed')).toEqual([
      expect.objectContaining({ level: 'warn', ids: ['m1'] }),
      expect.objectContaining({ level: 'warn', ids: ['m50', 'm51'], error: 'socket hang up' }),
    ]);
  });

  it('tells the entries SQS refused from those of calls that failed, and never rejects', async () => {
    sqsMock
      .on(ChangeMessageVisibilityBatchCommand)
      .resolvesOnce({ Successful: [], Failed: [{ Id: '3', Code: 'MessageNotInflight', SenderFault: true }] })
      .rejectsOnce(new Error('throttled'));
    const out = await tryRelease(mocked, QUEUE_URL, receipts(12));
    expect(out).toEqual({ refused: ['m3'], unsent: ['m10', 'm11'], error: new Error('throttled') });
  });
});

describe('Acks on a real queue', () => {
  const sqs = sqsClient();
  let queueUrl: string;
  beforeEach(async () => {
    ({ queueUrl } = await freshQueue(sqs));
  });

  /** `count` messages received (hidden for `visibilitySec`), as receipts with their bodies. */
  async function received(count: number, visibilitySec = 30): Promise<(Receipt & { body: string })[]> {
    const out: (Receipt & { body: string })[] = [];
    while (out.length < count) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: SQS_BATCH_MAX, VisibilityTimeout: visibilitySec, WaitTimeSeconds: 1 }));
      out.push(...Messages.map((m) => ({ id: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body! })));
    }
    return out;
  }
  const visibleNow = async () => (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: SQS_BATCH_MAX, VisibilityTimeout: 30, WaitTimeSeconds: 0 }))).Messages ?? [];
  /** Messages on the queue, visible or not: a deleted one is no longer counted. */
  const onQueue = async () => {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  };
  const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

  it('deletes messages for good and hands released ones back at once, hidden for their delay', async () => {
    for (const body of ['delete me', 'release now', 'release later']) await send(body);
    const byBody = new Map((await received(3)).map((m) => [m.body, m]));
    const acks = new Acks(sqs, queueUrl, logger);
    acks.delete(byBody.get('delete me')!);
    await acks.release([byBody.get('release now')!]);
    await acks.release([byBody.get('release later')!], 600);
    await acks.drain();
    expect((await visibleNow()).map((m) => m.Body)).toEqual(['release now']);
    expect(await onQueue()).toBe(2);
    expect(logged('delete_failed')).toEqual([]);
    expect(logged('release_failed')).toEqual([]);
  });

  it('deletes a message only once its outcome is committed, and releases it when the commit fails', async () => {
    const api = await startApi();
    try {
      expect((await api.call('POST', '/v1/dataset', { body: { name: 'acks', readme: '', df: makeDf(2) } })).status).toBe(200);
      const launched = await api.call('POST', '/v1/experiment', { body: { name: 'acks', dataset: 'acks', model: { name: 'm', base_url: 'http://127.0.0.1:9' }, metrics: ['exact_match'] } });
      const experimentId: number = launched.body.id;
      await send('row 0');
      await send('row 1');
      const [first, second] = await received(2);
      const acks = new Acks(sqs, queueUrl, logger);
      const deadPool = createPool('postgresql://nobody:x@127.0.0.1:1/none', 1);
      // As the runner wires them: done deletes, failed releases (at once here).
      const commit = (committer: Committer, receipt: Receipt, line: number) =>
        new Promise<void>((resolve) =>
          committer.add({
            answers: [{ experiment_id: experimentId, num_line: line, answer: 'a', error_msg: null, num_try: 1 }],
            observations: [],
            followUps: [],
            done: () => resolve(acks.delete(receipt)),
            failed: () => resolve(void acks.release([receipt])),
            rejected: () => resolve(),
          }),
        );
      const options = { sqs, queueUrl, logger, onSkipped: () => undefined, moreComing: () => false };
      await commit(new Committer({ ...options, pool: deadPool }), first, 0);
      await commit(new Committer({ ...options, pool: api.pool }), second, 1);
      await acks.drain();
      await deadPool.end();
      const { rows } = await api.pool.query('SELECT num_line FROM answer WHERE experiment_id = $1', [experimentId]);
      expect(rows).toEqual([{ num_line: 1 }]);
      // The failed commit's message is back; the committed one is gone.
      expect((await visibleNow()).map((m) => m.MessageId)).toEqual([first.id]);
      expect(await onQueue()).toBe(1);
    } finally {
      await api.close();
    }
  });
});
