/**
 * The schedule Lambda (functions/schedule/): the event it accepts, what it
 * reports, and a real tick against the local PostgreSQL and SQS servers.
 */
import { jest } from '@jest/globals';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { createScheduleHandler, handler } from '../../functions/schedule/handler.js';
import { closeLaunchCore, launchSchedule, type TickResult } from '../../functions/schedule/launch.js';
import { createCoreContext } from '../../core/context.js';
import { apiDatabase, makeDf, startApi, type TestApi } from '../support/api.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const fake = (result: TickResult | Error) => jest.fn(async (_id: number, _at: Date): Promise<TickResult> => {
  if (result instanceof Error) throw result;
  return result;
});

describe('schedule handler (fake launch)', () => {
  it.each([
    [undefined, /\(event\)/],
    [{}, /schedule_id/],
    [{ schedule_id: '7' }, /schedule_id/],
    [{ schedule_id: 0 }, /schedule_id/],
    [{ schedule_id: 1.5 }, /schedule_id/],
    [{ schedule_id: 3, scheduled_time: 'yesterday' }, /scheduled_time/],
    [{ schedule_id: 3, extra: true }, /extra/],
  ])('rejects the event %j without firing anything', async (event, detail) => {
    const { logger, lines } = capture();
    const launch = fake({ status: 'launched', experiment_set_id: 1 });
    const result = await createScheduleHandler({ logger, launch })(event);
    expect(result).toMatchObject({ status: 'error', error: 'invalid_event' });
    expect((result as { detail: string }).detail).toMatch(detail);
    expect(launch).not.toHaveBeenCalled();
    expect(lines).toEqual([expect.objectContaining({ level: 'error', event: 'schedule_event_invalid' })]);
  });

  it('fires the tick at scheduled_time, so a retried invocation is the same tick', async () => {
    const { logger } = capture();
    const launch = fake({ status: 'launched', experiment_set_id: 12 });
    const fire = createScheduleHandler({ logger, launch });
    const event = { schedule_id: 3, scheduled_time: '2026-06-01T03:00:00Z' };
    expect(await fire(event)).toEqual({ status: 'launched', schedule_id: 3, tick_at: '2026-06-01T03:00:00.000Z', experiment_set_id: 12 });
    expect(launch).toHaveBeenCalledWith(3, new Date('2026-06-01T03:00:00Z'));
  });

  it('without scheduled_time, fires the tick of the current minute', async () => {
    const { logger } = capture();
    const launch = fake({ status: 'skipped', reason: 'the schedule is paused' });
    const fire = createScheduleHandler({ logger, launch, now: () => Date.UTC(2026, 0, 1, 3, 0, 42, 123) });
    expect(await fire({ schedule_id: 4 })).toEqual({ status: 'skipped', schedule_id: 4, tick_at: '2026-01-01T03:00:00.000Z', reason: 'the schedule is paused' });
  });

  it('reports a failed launch (recorded by the core) without throwing', async () => {
    const { logger } = capture();
    const fire = createScheduleHandler({ logger, launch: fake({ status: 'failed', reason: 'dataset "x" not found' }) });
    expect(await fire({ schedule_id: 5, scheduled_time: '2026-06-01T03:00:00+02:00' })).toEqual({ status: 'failed', schedule_id: 5, tick_at: '2026-06-01T01:00:00.000Z', reason: 'dataset "x" not found' });
  });

  it.each([
    [new NotFoundError('schedule', 8), 'not_found'],
    [new ConfigError('DATABASE_URL', 'is required'), 'misconfigured'],
  ])('reports %s (a retry would not help) and logs it as an error', async (err, error) => {
    const { logger, lines } = capture();
    const result = await createScheduleHandler({ logger, launch: fake(err) })({ schedule_id: 8 });
    expect(result).toEqual({ status: 'error', error, detail: err.message, schedule_id: 8 });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', event: 'schedule_not_fired', schedule_id: 8, error })]);
  });

  it('throws any other failure, so that Lambda retries it', async () => {
    const { logger, lines } = capture();
    const fire = createScheduleHandler({ logger, launch: fake(new Error('connect ECONNREFUSED')) });
    await expect(fire({ schedule_id: 3 })).rejects.toThrow('connect ECONNREFUSED');
    expect(lines).toEqual([expect.objectContaining({ level: 'error', event: 'schedule_fire_failed', schedule_id: 3 })]);
  });
});

describe('schedule handler (local PostgreSQL and SQS)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi();
    expect((await api.call('POST', '/v1/dataset', { body: { name: 'nightly-data', readme: '', df: makeDf(3) } })).status).toBe(200);
  });
  afterAll(async () => {
    await api.close();
    await closeLaunchCore();
  });

  it('launches the schedule\'s experiment set and enqueues its fan-out; the same tick again launches nothing', async () => {
    const created = await api.call('POST', '/v1/schedule', {
      body: {
        name: 'nightly',
        cron: '0 3 * * *',
        template: { experiments: [{ name: 'e', dataset: 'nightly-data', model: { aliased_name: 'm', output: ['a', 'b', 'c'] }, metrics: ['exact_match'] }] },
      },
    });
    expect(created.status).toBe(200);
    const { logger } = capture();
    const fire = createScheduleHandler({ logger, launch: (id, at) => launchSchedule(id, at, api.core) });
    const event = { schedule_id: created.body.id, scheduled_time: '2026-06-01T03:00:00Z' };

    const first = await fire(event);
    expect(first).toMatchObject({ status: 'launched', schedule_id: created.body.id });
    const setId = (first as { experiment_set_id: number }).experiment_set_id;
    expect((await api.call('GET', `/v1/experiment_set/${setId}`)).status).toBe(200);
    expect(await api.messages()).toEqual([expect.objectContaining({ type: 'fanout' })]);

    expect(await fire(event)).toMatchObject({ status: 'skipped', reason: expect.stringContaining('already handled') });
    const runs = (await api.call('GET', `/v1/schedule/${created.body.id}`)).body.runs;
    expect(runs).toHaveLength(1);
  });

  it('launches exactly one run when several invocations deliver the same tick at once; the others report skipped', async () => {
    const created = await api.call('POST', '/v1/schedule', {
      body: {
        name: 'racy',
        cron: '*/5 * * * *',
        template: { experiments: [{ name: 'e', dataset: 'nightly-data', model: { aliased_name: 'm', output: ['a', 'b', 'c'] }, metrics: ['exact_match'] }] },
      },
    });
    expect(created.status).toBe(200);
    await api.purge();
    const { logger, lines } = capture();
    // Separate cores, as separate Lambda environments would be: nothing in memory is shared.
    const cores = Array.from({ length: 6 }, () => createCoreContext(api.core.config, { db: apiDatabase(api.databaseUrl), sqs: api.core.sqs, queueUrl: api.queueUrl, logger: createLogger({ level: 'silent' }) }));
    try {
      const event = { schedule_id: created.body.id, scheduled_time: '2026-06-01T03:05:00Z' };
      const results = await Promise.all(cores.map((core) => createScheduleHandler({ logger, launch: (id, at) => launchSchedule(id, at, core) })(event)));
      expect(results.filter((r) => r.status === 'launched')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'skipped')).toHaveLength(5);
      for (const r of results.filter((x) => x.status === 'skipped')) expect(r).toMatchObject({ reason: expect.stringContaining('already handled') });
      const runs = (await api.call('GET', `/v1/schedule/${created.body.id}`)).body.runs;
      expect(runs).toEqual([expect.objectContaining({ status: 'launched' })]);
      const sets = (await api.call('GET', '/v1/experiment_sets')).body.filter((s: { name: string }) => s.name.startsWith('racy-'));
      expect(sets).toHaveLength(1);
      expect(await api.messages()).toEqual([expect.objectContaining({ type: 'fanout' })]);
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await Promise.all(cores.map((c) => c.db.close()));
    }
  });

  it('reports an unknown schedule (an EventBridge schedule left behind) as not_found', async () => {
    const { logger } = capture();
    const fire = createScheduleHandler({ logger, launch: (id, at) => launchSchedule(id, at, api.core) });
    expect(await fire({ schedule_id: 987654 })).toMatchObject({ status: 'error', error: 'not_found' });
  });

  it('the Lambda entry point builds its core from the environment', async () => {
    // The global setup's DATABASE_URL and QUEUE_URL (a migrated database); LOG_LEVEL is silent in tests.
    expect(await handler({ schedule_id: 987654 })).toMatchObject({ status: 'error', error: 'not_found' });
    expect(await handler({ nope: 1 })).toMatchObject({ status: 'error', error: 'invalid_event' });
  });
});
