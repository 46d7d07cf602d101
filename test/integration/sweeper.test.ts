/**
 * The sweeper against the real queue and database: work the queue lost is
 * enqueued again (exactly what is missing), dead-lettered tasks are recorded
 * as failed with their reason, work that never progresses is given up on,
 * and /health lists stalled experiments.
 */
import { jest } from '@jest/globals';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { commitOutcomes } from '../../core/store/outcomes.js';
import { makeDf, sqsClient, tally, type TestApi } from '../support/api.js';
import { runnerFixtures, terminal as terminalOf, waitUntil } from '../support/runner.js';

jest.setTimeout(90_000);

// Runners sweep every second and call an experiment stalled after 2 s without progress; the API after 1 s.
const fx = runnerFixtures({ apiEnv: { EVALAP_STALL_AFTER_SEC: '1' }, runnerEnv: { RUNNER_SWEEP_INTERVAL_SEC: '1', EVALAP_STALL_AFTER_SEC: '2' } });
const sqs = sqsClient();
const runner = (env: Record<string, string> = {}) => fx.runner({ DLQ_URL: fx.api.dlqUrl, ...env });
const terminal = (id: number) => terminalOf(fx.api, id, 40_000);

afterEach(() => fx.api.purge());

let n = 0;
/** An experiment on `rows` rows whose launch message is then lost: nothing of it is on the queue. */
async function lostExperiment(rows: number): Promise<{ id: number; resultId: number }> {
  const name = `sweep-${++n}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await fx.api.call('POST', '/v1/experiment', { body: { name, dataset: name, model: { name: 'stub', base_url: fx.model.url }, metrics: ['exact_match'] } });
  expect(res.status).toBe(200);
  await fx.api.purge();
  const { rows: results } = await fx.api.pool.query('SELECT id FROM result WHERE experiment_id = $1', [res.body.id]);
  return { id: res.body.id, resultId: results[0].id };
}

const answers = async (id: number) =>
  (await fx.api.pool.query('SELECT num_line, answer, error_msg FROM answer WHERE experiment_id = $1 ORDER BY num_line', [id])).rows;

describe('the sweeper', () => {
  it('enqueues again exactly the work a lost queue took with it, and the experiment finishes with exact aggregates', async () => {
    const { id, resultId } = await lostExperiment(10);
    // Rows 0-6 were done before the queue lost everything.
    const done = [0, 1, 2, 3, 4, 5, 6];
    await commitOutcomes(
      fx.api.pool,
      done.map((l) => ({ experiment_id: id, num_line: l, answer: `answer ${l}`, error_msg: null, num_try: 1 })),
      done.map((l) => ({ experiment_id: id, result_id: resultId, num_line: l, score: 1, error_msg: null, num_try: 1 })),
    );
    const r = runner();
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 10, num_success: 10 });
    // Only the three missing rows were asked of the fx.model.
    expect(fx.model.requests.map((q) => q.body.messages.at(-1).content).sort()).toEqual(['question 7', 'question 8', 'question 9']);
    const { stored, fromRows } = await tally(fx.api.pool, id);
    expect(stored).toEqual(fromRows);
    expect(r.logs.filter((l) => l.event === 'experiment_requeued').map((l) => l.experiment_id)).toEqual([id]);
  });

  it('records a task that reached the dead-letter queue as failed with its reason, and the experiment finishes', async () => {
    const { id } = await lostExperiment(4);
    const send = (queueUrl: string, num_line: number, reason?: string) =>
      sqs.send(new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ type: 'answer', experiment_id: id, num_line }),
        ...(reason ? { MessageAttributes: { reason: { DataType: 'String', StringValue: reason } } } : {}),
      }));
    for (const line of [0, 1, 3]) await send(fx.api.queueUrl, line);
    await send(fx.api.dlqUrl, 2);
    runner({ EVALAP_STALL_AFTER_SEC: '600' });
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 4, num_success: 3 });
    const rows = await answers(id);
    expect(rows[2].answer).toBeNull();
    expect(rows[2].error_msg).toMatch(/^dead-lettered: the task was received too many times/);
    expect(rows.filter((a) => a.error_msg === null)).toHaveLength(3);
    expect(fx.model.requests).toHaveLength(3);
    // The message stays in the dead-letter queue for whoever looks into it (out of sight for now).
    const attrs = await fx.api.messages();
    expect(attrs).toHaveLength(0);
  });

  it('records the missing work as failed, with the reason, once it was enqueued again EVALAP_STALL_REQUEUES times without progress', async () => {
    const { id } = await lostExperiment(3);
    const r = runner({ EVALAP_STALL_REQUEUES: '0' });
    const exp = await terminal(id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 3, num_success: 0 });
    expect(exp.results[0]).toMatchObject({ metric_status: 'finished', num_try: 3, num_success: 0 });
    for (const a of await answers(id)) expect(a.error_msg).toMatch(/^no progress for \d+ s, after its missing work was enqueued again 0 times$/);
    expect(fx.model.requests).toHaveLength(0);
    expect(r.logs.find((l) => l.event === 'experiment_work_failed')).toMatchObject({ experiment_id: id, rows: 3 });
  });

  it('lists stalled experiments in /health, and no longer once they finish', async () => {
    const { id } = await lostExperiment(2);
    const stalled = await waitUntil(async () => {
      const res = await fx.api.call('GET', '/health');
      return res.body.stalled_experiments?.length ? res : undefined;
    }, 10_000, 'a stalled experiment in /health') as Awaited<ReturnType<TestApi['call']>>;
    expect(stalled.status).toBe(200);
    // Its launch message was lost: it never left pending.
    expect(stalled.body.stalled_experiments).toEqual([{ id, status: 'pending', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) }]);
    runner();
    await terminal(id);
    expect((await fx.api.call('GET', '/health')).body.stalled_experiments).toEqual([]);
  });
});
