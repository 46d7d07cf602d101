import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { enqueue, type TaskInput } from '../../core/queue.js';

const sqs = new SQSClient({ region: 'eu-west-3' });
const sqsMock = mockClient(sqs);
const answers = (n: number): TaskInput[] => Array.from({ length: n }, (_, i) => ({ type: 'answer', experiment_id: 1, num_line: i }));
const sentLines = (inputs: SendMessageBatchCommandInput[]) => inputs.flatMap((i) => i.Entries!.map((e) => JSON.parse(e.MessageBody!).num_line as number));

describe('enqueue', () => {
  let inFlight = 0;
  let maxInFlight = 0;
  let inputs: SendMessageBatchCommandInput[] = [];
  beforeEach(() => {
    sqsMock.reset();
    inFlight = maxInFlight = 0;
    inputs = [];
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      inputs.push(input);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { Successful: input.Entries!.map((e) => ({ Id: e.Id!, MessageId: `m${e.Id}`, MD5OfMessageBody: '' })), Failed: [] };
    });
  });

  test('sends every task once, in batches of 10, one batch at a time by default', async () => {
    await enqueue(sqs, 'q', answers(95));
    expect(inputs.map((i) => i.Entries!.length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    expect(sentLines(inputs)).toEqual(answers(95).map((_, i) => i));
    expect(maxInFlight).toBe(1);
  });

  test('with a concurrency, that many batches are in flight at once and none is sent twice', async () => {
    await enqueue(sqs, 'q', answers(40), 4);
    expect(maxInFlight).toBe(4);
    expect(sentLines(inputs).sort((a, b) => a - b)).toEqual(answers(40).map((_, i) => i));
    // More streams than batches: one per batch.
    inputs = [];
    maxInFlight = 0;
    await enqueue(sqs, 'q', answers(15), 8);
    expect(maxInFlight).toBe(2);
    expect(sentLines(inputs).sort((a, b) => a - b)).toEqual(answers(15).map((_, i) => i));
  });

  test('nothing to send sends nothing', async () => {
    await enqueue(sqs, 'q', [], 4);
    expect(inputs).toHaveLength(0);
  });

  test('entries SQS reports failed are sent again; after five refusals it throws', async () => {
    let calls = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      calls++;
      inputs.push(input);
      const [first, ...rest] = input.Entries!;
      // The first attempt refuses one entry; the retry accepts it.
      return calls === 1
        ? { Successful: rest.map((e) => ({ Id: e.Id!, MessageId: 'm', MD5OfMessageBody: '' })), Failed: [{ Id: first.Id!, SenderFault: false, Code: 'InternalError', Message: 'try again' }] }
        : { Successful: input.Entries!.map((e) => ({ Id: e.Id!, MessageId: 'm', MD5OfMessageBody: '' })), Failed: [] };
    });
    await enqueue(sqs, 'q', answers(10));
    expect(inputs.map((i) => i.Entries!.length)).toEqual([10, 1]);
    expect(sentLines(inputs.slice(1))).toEqual([0]);

    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', SenderFault: true, Code: 'InvalidMessageContents', Message: 'bad body' }] });
    await expect(enqueue(sqs, 'q', answers(1))).rejects.toThrow('SQS refused 1 task(s): bad body');
  });
});
