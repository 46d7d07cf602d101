import { jest } from '@jest/globals';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { makeDf, sqsClient, startApi, type TestApi } from '../support/api.js';
import { startEcsAgent, type AgentReply, type StubEcsAgent } from '../support/ecs-agent.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, stopRunners, terminal, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(120_000);

/** RUNNER_TASK_PROTECTION_MIN's default. */
const ENABLE = { ProtectionEnabled: true, ExpiresInMinutes: 30 };
const CLEAR = { ProtectionEnabled: false };

let api: TestApi;
let model: StubModelServer;
let agent: StubEcsAgent;
const runners: RunningRunner[] = [];

beforeAll(async () => {
  api = await startApi();
  model = await startModelServer();
  agent = await startEcsAgent();
});
afterAll(async () => {
  await agent.close();
  await model.close();
  await api.close();
});
afterEach(async () => {
  await stopRunners(runners);
  agent.reset();
  model.setBehaviour({});
  model.reset();
});

/** A runner in an ECS task whose agent is the stub. */
function runner(env: Record<string, string> = {}): RunningRunner {
  // A quiet period of 3 s (30 s by default), still longer than the tests' 1 s long poll.
  const r = startRunner(api, { ECS_AGENT_URI: agent.uri, RUNNER_TASK_PROTECTION_QUIET_SEC: '3', ...env });
  runners.push(r);
  return r;
}

let datasetCount = 0;
async function launch(rows: number): Promise<number> {
  const name = `tp-${++datasetCount}`;
  expect((await api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await api.call('POST', '/v1/experiment', {
    body: { name: `exp-${name}`, dataset: name, model: { name: 'stub', base_url: model.url, api_key: 'sk-stub-key-123456' }, metrics: ['exact_match'] },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

const finished = (id: number) => terminal(api, id, 60_000);

/** Messages of the test's queue received and neither deleted nor handed back yet. */
async function messagesInFlight(): Promise<number> {
  const out = await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: api.queueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

const bodies = () => agent.requests.map((r) => r.body);

describe('the runner in an ECS task', () => {
  it('is protected from scale-in while it holds a run\'s messages, and cleared once the run is done', async () => {
    // What the agent would report each time the model is called, i.e. while the runner holds that row's message.
    const protectedDuringCalls: boolean[] = [];
    model.setBehaviour({
      latencyMs: 100,
      reply: (body) => {
        protectedDuringCalls.push(agent.protectionEnabled);
        return String(body.messages.at(-1).content);
      },
    });
    const r = runner({ MAX_CONCURRENT_TASKS: '2' });
    await r.waitForLog('runner_started');

    const id = await launch(8);
    expect(await finished(id)).toMatchObject({ experiment_status: 'finished', num_success: 8 });

    expect(protectedDuringCalls).toEqual(Array(8).fill(true));
    // The runner logs the clearing once the agent has answered: wait for both.
    await waitUntil(async () => agent.requests.length >= 2 && r.logs.some((l) => l.event === 'task_protection_cleared'), 60_000, 'the protection to be cleared');
    expect(bodies()).toEqual([ENABLE, CLEAR]);
    expect(agent.protectionEnabled).toBe(false);
    expect(r.logs.filter((l) => l.event.startsWith('task_protection_')).map((l) => l.event)).toEqual(['task_protection_enabled', 'task_protection_cleared']);

    // Unprotected and idle: its shutdown asks the agent nothing.
    r.kill('SIGTERM');
    expect(await r.exited).toEqual({ code: 0, signal: null });
    expect(agent.requests).toHaveLength(2);
  });

  it('clears its protection when SIGTERM stops it mid-run, once its messages are back on the queue', async () => {
    model.setBehaviour({ latencyMs: 1500 });
    const r = runner({ MAX_CONCURRENT_TASKS: '2', RUNNER_SHUTDOWN_GRACE_MS: '500', RUNNER_VISIBILITY_TIMEOUT_SEC: '60' });
    await launch(12);
    await waitUntil(async () => model.requests.length >= 2 && agent.protectionEnabled, 30_000, 'protected work in flight');
    expect(await messagesInFlight()).toBeGreaterThan(0);
    let inFlightAtClear: number | undefined;
    agent.setReplies(async (_, request): Promise<AgentReply> => {
      if (request.body?.ProtectionEnabled === false) inFlightAtClear = await messagesInFlight();
      return 'ok';
    });

    r.kill('SIGTERM');

    expect(await r.exited).toEqual({ code: 0, signal: null });
    expect(bodies()).toEqual([ENABLE, CLEAR]);
    expect(agent.protectionEnabled).toBe(false);
    // Every message it held (invisible for a minute) was already deleted or handed back when it cleared.
    expect(inFlightAtClear).toBe(0);
    const events = r.logs.map((l) => l.event);
    expect(events.indexOf('task_protection_cleared')).toBeGreaterThan(events.indexOf('runner_stopping'));
    expect(events.indexOf('task_protection_cleared')).toBeLessThan(events.indexOf('runner_stopped'));
  });
});
