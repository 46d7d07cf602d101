/**
 * A fan-out split into sub-ranges: the rows of a large experiment are
 * enqueued by a tree of fan-out tasks (runner/tasks/fanout.ts), and a split
 * task delivered twice (its sub-ranges sent twice) enqueues no row twice.
 */
import { jest } from '@jest/globals';
import { SQSClient } from '@aws-sdk/client-sqs';
import { enqueue } from '../../core/queue.js';
import { claimChunk, markChunkSent } from '../../core/store/fanout-chunks.js';
import { makeDf } from '../support/api.js';
import { expectExactRun, runnerFixtures } from '../support/runner.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();
// Chunks of 10 rows: 1,000 rows make a tree three levels deep.
const ENV = { EVALAP_FANOUT_CHUNK: '10', MAX_CONCURRENT_TASKS: '16', LOG_LEVEL: 'debug' };

let datasetCount = 0;
async function launch(rows: number) {
  const name = `fanout-split-${++datasetCount}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await fx.api.call('POST', '/v1/experiment', {
    body: { name: `exp-${name}`, dataset: name, model: { name: 'stub', base_url: fx.model.url, api_key: 'sk-stub' }, metrics: ['exact_match'] },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

const sent = (logs: Record<string, any>[]) => logs.filter((l) => l.event === 'fanout_chunk_sent');

describe('a split fan-out', () => {
  it('enqueues every row of a large experiment once, through sub-range tasks', async () => {
    const r = fx.runner(ENV);
    const id = await launch(1_000);
    await expectExactRun(fx.api, id, 1_000, 60_000);
    expect(fx.model.requests).toHaveLength(1_000);
    const chunks = sent(r.logs);
    expect(chunks.reduce((n, l) => n + l.tasks, 0)).toBe(1_000);
    // Sub-ranges, not one chain: some chunks were followed by several fan-outs.
    expect(chunks.some((l) => l.then > 1)).toBe(true);
  });

  it('enqueues no row twice when the same split is delivered twice', async () => {
    const id = await launch(1_000);
    // The launch's own fan-out is replaced by two copies of one tree's root, as a
    // redelivered split leaves two copies of each of its sub-ranges.
    await fx.api.purge();
    const sqs = new SQSClient({ endpoint: fx.api.sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const root = { type: 'fanout' as const, experiment_id: id, stage: 'answers' as const, from: 0, to: 1_000, root: 'root-of-the-test' };
    await enqueue(sqs, fx.api.queueUrl, [root, root]);
    sqs.destroy();
    const r = fx.runner(ENV);
    await expectExactRun(fx.api, id, 1_000, 60_000);
    const chunks = sent(r.logs);
    expect(chunks.reduce((n, l) => n + l.tasks, 0)).toBe(1_000);
    expect(chunks.reduce((n, l) => n + (l.already_sent ?? 0), 0)).toBeGreaterThan(0);
    expect(fx.model.requests).toHaveLength(1_000);
  });
});

describe('a chunk claim', () => {
  it('goes to the first delivery, again only to a redelivery of that same message, and to none once sent', async () => {
    const id = await launch(10);
    const claim = (messageId: string, redelivered: boolean) => claimChunk(fx.api.pool, { experimentId: id, root: 'r', from: 0, messageId, redelivered });
    expect(await claim('m1', false)).toBe(true);
    // A copy of the task (another message): the chunk is another's.
    expect(await claim('m2', false)).toBe(false);
    expect(await claim('m2', true)).toBe(false);
    // The claimant's message back (its holder died before marking it sent): it sends again.
    expect(await claim('m1', true)).toBe(true);
    await markChunkSent(fx.api.pool, id, 'r', 0);
    expect(await claim('m1', true)).toBe(false);
    // Another position or another tree is another chunk.
    expect(await claimChunk(fx.api.pool, { experimentId: id, root: 'r', from: 10, messageId: 'm1', redelivered: false })).toBe(true);
    expect(await claimChunk(fx.api.pool, { experimentId: id, root: 'r2', from: 0, messageId: 'm3', redelivered: false })).toBe(true);
  });
});
