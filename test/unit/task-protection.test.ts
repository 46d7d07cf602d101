import http from 'node:http';
import { jest } from '@jest/globals';
import type { Logger } from '../../core/logger.js';
import { CALL_TIMEOUT_MS, QUIET_PERIOD_MS, TaskProtection } from '../../runner/task-protection.js';
import { startEcsAgent, type StubEcsAgent } from '../support/ecs-agent.js';

const MINUTES = 30;
const PERIOD_MS = MINUTES * 60_000;
const ENABLE = { ProtectionEnabled: true, ExpiresInMinutes: MINUTES };
const CLEAR = { ProtectionEnabled: false };

interface LogCall {
  level: 'debug' | 'info' | 'warn' | 'error';
  event: string;
  fields: Record<string, unknown>;
}

/** A logger that remembers what it was told and can wait for the nth line of an event. */
function fakeLogger() {
  const calls: LogCall[] = [];
  let waiters: { event: string; n: number; resolve: () => void }[] = [];
  const events = (event: string) => calls.filter((c) => c.event === event);
  const at = (level: LogCall['level']) => (event: string, fields: Record<string, unknown> = {}) => {
    calls.push({ level, event, fields });
    for (const w of waiters.filter((w) => events(w.event).length >= w.n)) w.resolve();
    waiters = waiters.filter((w) => events(w.event).length < w.n);
  };
  const logger = {
    calls,
    events,
    /** Resolves once `event` has been logged `n` times (no timers: fake ones are running). */
    seen(event: string, n = 1): Promise<void> {
      if (events(event).length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ event, n, resolve }));
    },
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (): Logger => logger,
  };
  return logger;
}

let agent: StubEcsAgent;
let logger: ReturnType<typeof fakeLogger>;
let protection: TaskProtection | undefined;
/** Every call started towards any HTTP server: what "nothing was sent" is checked against, at once. */
let sent: ReturnType<typeof jest.spyOn>;

/** A TaskProtection on the stub agent, or with no agent when given `{ agentUri: undefined }`. */
function start(options: { agentUri?: string } = { agentUri: agent.uri }): TaskProtection {
  protection = new TaskProtection({ agentUri: options.agentUri, minutes: MINUTES, logger });
  return protection;
}

const bodies = () => agent.requests.map((r) => r.body);

beforeAll(async () => {
  agent = await startEcsAgent();
});
afterAll(async () => {
  await agent.close();
});
beforeEach(() => {
  // Real I/O (the stub agent) needs the real nextTick, setImmediate and microtasks.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  logger = fakeLogger();
  sent = jest.spyOn(http, 'request');
});
afterEach(async () => {
  await protection?.close();
  protection = undefined;
  sent.mockRestore();
  agent.reset();
  jest.useRealTimers();
});

describe('TaskProtection', () => {
  it('asks the agent for the configured minutes of protection as soon as the runner holds its first message', async () => {
    const p = start();

    p.busy();

    await logger.seen('task_protection_enabled');
    expect(agent.requests).toEqual([
      expect.objectContaining({ method: 'PUT', path: new URL(`${agent.uri}/task-protection/v1/state`).pathname, contentType: 'application/json', body: ENABLE }),
    ]);
    expect(agent.protectionEnabled).toBe(true);
    expect(logger.events('task_protection_enabled')[0].fields).toMatchObject({ expires_in_minutes: MINUTES, expiration_date: expect.any(String) });
  });

  it('makes one call per transition however often it is told, and none while nothing changes', async () => {
    const p = start();

    p.busy();
    p.busy();
    await logger.seen('task_protection_enabled');
    p.busy();
    await jest.advanceTimersByTimeAsync(PERIOD_MS / 2 - 1);
    expect(sent).toHaveBeenCalledTimes(1);

    p.idle();
    p.idle();
    await jest.advanceTimersByTimeAsync(QUIET_PERIOD_MS);
    await logger.seen('task_protection_cleared');
    p.idle();
    await jest.advanceTimersByTimeAsync(PERIOD_MS);

    expect(sent).toHaveBeenCalledTimes(2);
    expect(bodies()).toEqual([ENABLE, CLEAR]);
    expect(agent.protectionEnabled).toBe(false);
  });

  it('renews the protection before it lapses while the runner stays busy', async () => {
    const p = start();
    p.busy();
    await logger.seen('task_protection_enabled');

    // Halfway through the protection: renewed, with as much left for retries as has passed.
    await jest.advanceTimersByTimeAsync(PERIOD_MS / 2 - 1);
    expect(sent).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await logger.seen('task_protection_renewed');
    await jest.advanceTimersByTimeAsync(PERIOD_MS / 2);
    await logger.seen('task_protection_renewed', 2);

    expect(bodies()).toEqual([ENABLE, ENABLE, ENABLE]);
    expect(agent.protectionEnabled).toBe(true);
    expect(logger.events('task_protection_enabled')).toHaveLength(1);
  });

  it('clears the protection once the runner has held nothing for the quiet period', async () => {
    const p = start();
    p.busy();
    await logger.seen('task_protection_enabled');

    p.idle();
    await jest.advanceTimersByTimeAsync(QUIET_PERIOD_MS - 1);
    expect(sent).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await logger.seen('task_protection_cleared');

    expect(bodies()).toEqual([ENABLE, CLEAR]);
    expect(agent.protectionEnabled).toBe(false);
  });

  it('does not flap when a runner between two polls of a busy queue holds nothing for a moment', async () => {
    const p = start();
    p.busy();
    await logger.seen('task_protection_enabled');

    for (let i = 0; i < 5; i++) {
      p.idle();
      await jest.advanceTimersByTimeAsync(QUIET_PERIOD_MS - 1000);
      p.busy();
      await jest.advanceTimersByTimeAsync(2000);
    }

    expect(sent).toHaveBeenCalledTimes(1);
    expect(agent.protectionEnabled).toBe(true);
    // The quiet period counts from the last time it went idle.
    p.idle();
    await jest.advanceTimersByTimeAsync(QUIET_PERIOD_MS);
    await logger.seen('task_protection_cleared');
    expect(bodies()).toEqual([ENABLE, CLEAR]);
  });

  it('logs every refusal of the agent, never throws, and retries with a growing back-off until it is protected', async () => {
    const failures = ['denied', 'failure', 'throttled', 'canceled', 'garbage', 'reset'] as const;
    agent.setReplies((i) => failures[i] ?? 'ok');
    const p = start();

    expect(() => p.busy()).not.toThrow();

    const waits: number[] = [];
    for (let n = 1; n <= failures.length; n++) {
      await logger.seen('task_protection_failed', n);
      // Straight to the retry and no further: past it, fake time would also run out the call's own timeout.
      const failedAt = Date.now();
      await jest.advanceTimersToNextTimerAsync();
      expect(sent).toHaveBeenCalledTimes(n + 1);
      waits.push(Date.now() - failedAt);
      expect(logger.events('task_protection_failed')[n - 1].fields.retry_in_ms).toBe(waits[n - 1]);
    }
    await logger.seen('task_protection_enabled');

    expect(logger.events('task_protection_failed').map((c) => [c.level, c.fields.action, c.fields.code, c.fields.attempt])).toEqual([
      ['warn', 'enable', 'AccessDeniedException', 1],
      ['warn', 'enable', 'TASK_NOT_VALID', 2],
      ['warn', 'enable', 'ThrottlingException', 3],
      ['warn', 'enable', 'RequestCanceled', 4],
      ['warn', 'enable', 'UnexpectedAnswer', 5],
      ['warn', 'enable', 'ECONNRESET', 6],
    ]);
    // Jittered within the upper half of 1 s, 2 s, 4 s ...: the back-off doubles with each failure.
    waits.forEach((wait, i) => {
      expect(wait).toBeGreaterThanOrEqual(500 * 2 ** i);
      expect(wait).toBeLessThanOrEqual(1000 * 2 ** i);
    });
    expect(agent.protectionEnabled).toBe(true);
    expect(bodies()).toEqual(Array(failures.length + 1).fill(ENABLE));
  });

  it('gives up on an agent that does not answer, with one call at a time, and retries', async () => {
    agent.setReplies((i) => (i === 0 ? 'hang' : 'ok'));
    const p = start();
    p.busy();
    await agent.waitForRequests(1);

    // Told idle and busy again while its call hangs: no second call on top of it.
    p.idle();
    p.busy();
    await jest.advanceTimersByTimeAsync(CALL_TIMEOUT_MS - 1);
    expect(sent).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await logger.seen('task_protection_failed');
    expect(logger.events('task_protection_failed')[0].fields).toMatchObject({ action: 'enable', code: 'Timeout' });

    await jest.advanceTimersByTimeAsync(1000);
    await logger.seen('task_protection_enabled');
    expect(bodies()).toEqual([ENABLE, ENABLE]);
  });

  it('clears a protection whose call timed out, since the agent may have applied it', async () => {
    agent.setReplies((i) => (i === 0 ? 'hang' : 'ok'));
    const p = start();
    p.busy();
    await agent.waitForRequests(1);
    await jest.advanceTimersByTimeAsync(CALL_TIMEOUT_MS);
    await logger.seen('task_protection_failed');

    p.idle();
    await jest.advanceTimersByTimeAsync(QUIET_PERIOD_MS);
    await logger.seen('task_protection_cleared');

    expect(bodies()).toEqual([ENABLE, CLEAR]);
  });

  it('keeps retrying a clear the agent refuses, so an idle task does not stay protected', async () => {
    agent.setReplies((i) => (i === 1 || i === 2 ? 'throttled' : 'ok'));
    const p = start();
    p.busy();
    await logger.seen('task_protection_enabled');

    p.idle();
    await jest.advanceTimersByTimeAsync(QUIET_PERIOD_MS);
    await logger.seen('task_protection_failed');
    await jest.advanceTimersByTimeAsync(1000);
    await logger.seen('task_protection_failed', 2);
    await jest.advanceTimersByTimeAsync(2000);
    await logger.seen('task_protection_cleared');

    expect(bodies()).toEqual([ENABLE, CLEAR, CLEAR, CLEAR]);
    expect(agent.protectionEnabled).toBe(false);
  });

  it('sends nothing at all when ECS_AGENT_URI is unset', async () => {
    const p = start({ agentUri: undefined });

    p.busy();
    await jest.advanceTimersByTimeAsync(PERIOD_MS);
    p.idle();
    await jest.advanceTimersByTimeAsync(PERIOD_MS);
    await p.close();

    expect(sent).not.toHaveBeenCalled();
    expect(agent.requests).toEqual([]);
    expect(logger.calls).toEqual([]);
  });

  it('clears the protection at shutdown without waiting for the quiet period, and asks nothing after', async () => {
    const p = start();
    p.busy();
    await logger.seen('task_protection_enabled');
    p.idle();

    await p.close();

    expect(bodies()).toEqual([ENABLE, CLEAR]);
    expect(agent.protectionEnabled).toBe(false);
    p.busy();
    await jest.advanceTimersByTimeAsync(PERIOD_MS);
    expect(sent).toHaveBeenCalledTimes(2);
  });

  it('at shutdown, cuts short a call that hangs and still clears the protection', async () => {
    agent.setReplies((i) => (i === 0 ? 'hang' : 'ok'));
    const p = start();
    p.busy();
    await agent.waitForRequests(1);

    await p.close();

    expect(bodies()).toEqual([ENABLE, CLEAR]);
    expect(logger.events('task_protection_cleared')).toHaveLength(1);
  });

  it('sends nothing at shutdown when the task was never protected', async () => {
    const p = start();

    await p.close();

    expect(sent).not.toHaveBeenCalled();
  });

  it('logs a clear that fails at shutdown instead of throwing', async () => {
    agent.setReplies((i) => (i === 0 ? 'ok' : 'denied'));
    const p = start();
    p.busy();
    await logger.seen('task_protection_enabled');

    await expect(p.close()).resolves.toBeUndefined();

    expect(logger.events('task_protection_failed').map((c) => c.fields)).toEqual([
      expect.objectContaining({ action: 'clear', code: 'AccessDeniedException', retry_in_ms: null }),
    ]);
  });

  it('refuses a protection period ECS does not accept', () => {
    expect(() => new TaskProtection({ agentUri: undefined, minutes: 0, logger })).toThrow(RangeError);
    expect(() => new TaskProtection({ agentUri: undefined, minutes: 2881, logger })).toThrow(RangeError);
  });
});
