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
async function launch(rows: number) {
  const name = `scale-out-${++datasetCount}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await fx.api.call('POST', '/v1/experiment', {
    body: { name: `exp-${name}`, dataset: name, model: { name: 'stub', base_url: fx.model.url, api_key: 'sk-stub' }, metrics: ['exact_match', 'contains'] },
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
});
