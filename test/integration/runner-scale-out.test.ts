/**
 * Several runner processes on one queue, as several Fargate tasks in AWS
 * (RUNNER_PROCESSES locally): they share one experiment's rows without
 * answering any twice, and the loss of one (SIGKILL: no shutdown, its
 * messages come back after their visibility timeout) costs nothing but time.
 */
import { jest } from '@jest/globals';
import { makeDf } from '../support/api.js';
import { expectExactRun, runnerFixtures, waitUntil } from '../support/runner.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();
// A short visibility timeout, so a killed runner's messages come back within seconds; debug logs tell which runner sent what.
const ENV = { MAX_CONCURRENT_TASKS: '8', RUNNER_VISIBILITY_TIMEOUT_SEC: '5', RUNNER_HEARTBEAT_INTERVAL_MS: '1000', RUNNER_POLL_WAIT_SEC: '1', LOG_LEVEL: 'debug' };

let datasetCount = 0;
async function launch(rows: number, model: Record<string, unknown> = {}) {
  const name = `scale-out-${++datasetCount}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await fx.api.call('POST', '/v1/experiment', {
    body: { name: `exp-${name}`, dataset: name, model: { name: 'stub', base_url: fx.model.url, api_key: 'sk-stub', ...model }, metrics: ['exact_match', 'contains'] },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

/** The rows (by query) the model was asked more than once. */
function askedTwice(): string[] {
  const seen = new Map<string, number>();
  for (const q of fx.model.requests) {
    const query = String(q.body.messages.at(-1).content);
    seen.set(query, (seen.get(query) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([query]) => query);
}

describe('three runner processes on one queue', () => {
  it('share one experiment: every row answered exactly once, by all three, with exact counters and aggregates', async () => {
    fx.model.setBehaviour({ latencyMs: 50, reply: (body) => String(body.messages.at(-1).content).replace('question', 'answer') });
    const runners = [fx.runner(ENV), fx.runner(ENV), fx.runner(ENV)];
    const id = await launch(300);
    await expectExactRun(fx.api, id, 300, 60_000);
    expect(fx.model.requests).toHaveLength(300);
    expect(askedTwice()).toEqual([]);
    // Each took a share: the queue is drained by all of them, not by whichever polled first.
    const dispatched = runners.map((r) => r.logs.filter((l) => l.event === 'task_dispatched').length);
    expect(dispatched.every((n) => n > 0)).toBe(true);
  });

  it('lose nothing when one is SIGKILLed mid-run: its rows are answered by the others, each stored once', async () => {
    fx.model.setBehaviour({ latencyMs: 200 });
    const runners = [fx.runner(ENV), fx.runner(ENV), fx.runner(ENV)];
    const id = await launch(240);
    await waitUntil(async () => runners[0].logs.some((l) => l.event === 'task_dispatched') && fx.model.requests.length >= 40, 30_000, 'the first runner to be working');
    runners[0].kill('SIGKILL');
    expect((await runners[0].exited).signal).toBe('SIGKILL');
    await expectExactRun(fx.api, id, 240, 90_000);
    // The rows the killed runner had in flight were asked again (more calls than rows); none was stored twice (expectExactRun).
    expect(fx.model.requests.length).toBeGreaterThan(240);
  });

  it('keep to one declared budget together: 30 requests a minute from three runners is 30, not 90', async () => {
    fx.model.setBehaviour({ latencyMs: 20 });
    const runners = [fx.runner(ENV), fx.runner(ENV), fx.runner(ENV)];
    await Promise.all(runners.map((r) => waitUntil(async () => r.logs.some((l) => l.event === 'runner_started'), 30_000, 'the runners to start')));
    const id = await launch(90, { requests_per_minute: 30 });
    await waitUntil(async () => fx.model.requests.length >= 30, 30_000, 'the budget to be spent');
    // Each runner alone would send 30 in its first minute: a few seconds more would show it.
    await new Promise((r) => setTimeout(r, 3000));
    expect(fx.model.requests.length).toBe(30);
    const dispatched = runners.map((r) => r.logs.filter((l) => l.event === 'task_dispatched').length);
    expect(dispatched.every((n) => n > 0)).toBe(true);
    // The rest of the run is a minute or two of waiting for the budget: not this test's subject.
    expect((await fx.api.call('POST', `/v1/stop/experiment/${id}`)).status).toBe(200);
  });
});
