/**
 * SIGTERM while tasks outlast the grace period: the runner hands their
 * messages back and exits 0, with no native abort on the way out.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { jest } from '@jest/globals';
import { makeDf } from '../support/api.js';
import { runnerFixtures, waitUntil } from '../support/runner.js';

jest.setTimeout(120_000);

const stack = runnerFixtures();

async function launch(name: string, rows: number): Promise<number> {
  expect((await stack.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await stack.api.call('POST', '/v1/experiment', {
    body: { name, dataset: name, model: { name: 'stub', base_url: stack.model.url, api_key: 'sk-stub-key-123456' }, metrics: ['exact_match'] },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

/** Messages on the queue: visible, and received but not yet deleted or handed back. */
async function queueCounts(): Promise<{ visible: number; inFlight: number }> {
  const out = await stack.api.core.sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.api.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Number(out.Attributes?.ApproximateNumberOfMessages), inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

describe('runner shutdown', () => {
  it('hands back the messages of tasks still running after the grace period and exits 0 without aborting', async () => {
    // Each call outlasts the grace period and the time the workers are given to stop.
    stack.model.setBehaviour({ latencyMs: 60_000 });
    // A minute of visibility: a message seen again within seconds was handed back, not timed out.
    const env = { MAX_CONCURRENT_TASKS: '4', RUNNER_SHUTDOWN_GRACE_MS: '300', RUNNER_VISIBILITY_TIMEOUT_SEC: '60' };
    const first = stack.runner(env);
    const id = await launch('slow', 6);
    await waitUntil(async () => stack.model.requests.length >= 4, 30_000, 'four calls in flight');
    const running = stack.model.requests.map((r) => Number(/question (\d+)/.exec(r.body.messages.at(-1).content)![1]));

    first.kill('SIGTERM');

    expect(await first.exited).toEqual({ code: 0, signal: null });
    const stderr = first.stderr.join('\n');
    expect(stderr).not.toContain('terminate called');
    expect(stderr).not.toContain('Napi::Error');
    expect(first.logs.some((l) => l.event === 'runner_stopped')).toBe(true);
    // The running tasks were neither finished nor lost: their messages are on the queue again.
    expect((await stack.api.pool.query('SELECT count(*)::int AS n FROM answer WHERE experiment_id = $1', [id])).rows[0].n).toBe(0);
    expect(await queueCounts()).toEqual({ visible: 6, inFlight: 0 });
    const back = (await stack.api.messages(10)).filter((m) => m.type === 'answer' && m.experiment_id === id).map((m) => m.num_line as number);
    expect(back).toEqual(expect.arrayContaining(running));
    expect(back.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);

    stack.model.setBehaviour({});
    const second = stack.runner(env);
    const exp = await waitUntil(async () => {
      const res = await stack.api.call('GET', `/v1/experiment/${id}`);
      return res.body.experiment_status === 'finished' ? res.body : undefined;
    }, 40_000, 'the experiment to finish');
    expect(exp).toMatchObject({ num_try: 6, num_success: 6 });
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});
