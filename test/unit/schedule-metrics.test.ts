/**
 * What the schedule handler counts in ScheduleErrors, per outcome: 1 for a
 * run that did not launch, nothing otherwise (as the metric filter it
 * replaced: the metric exists only while runs fail).
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { loadConfig } from '../../core/config.js';
import { NotFoundError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { createScheduleHandler } from '../../functions/schedule/handler.js';
import type { TickResult } from '../../functions/schedule/launch.js';
import { publishMetrics, scheduleMetrics, SCHEDULE_ERRORS } from '../../functions/schedule/metrics.js';
import { printedLines } from '../support/stdout.js';

const logger = createLogger({ level: 'silent' });

async function counted(event: unknown, launch: () => Promise<TickResult>): Promise<{ values: unknown[]; raw: string }> {
  const { lines, raw } = await printedLines(async () => {
    const metrics = scheduleMetrics(loadConfig({ POWERTOOLS_METRICS_NAMESPACE: 'Evalap/Test' }));
    const handler = middy(createScheduleHandler({ logger, metrics, launch })).use(publishMetrics(metrics));
    await handler(event, {} as Context).catch(() => undefined);
  });
  return { values: lines.filter((l) => l._aws).map((l) => l[SCHEDULE_ERRORS]), raw };
}

describe('ScheduleErrors', () => {
  it.each<[string, unknown, () => Promise<TickResult>]>([
    ['a launched run', { schedule_id: 1 }, async () => ({ status: 'launched', experiment_set_id: 3 })],
    ['a skipped run (paused, previous run going)', { schedule_id: 1 }, async () => ({ status: 'skipped', reason: 'paused' })],
  ])('counts nothing for %s, and prints nothing (no metric, no warning)', async (_name, event, launch) => {
    expect(await counted(event, launch)).toEqual({ values: [], raw: '' });
  });

  it.each<[string, number, unknown, () => Promise<TickResult>]>([
    ['a run whose launch failed', 1, { schedule_id: 1 }, async () => ({ status: 'failed', reason: 'no dataset' })],
    ['an invalid event', 1, { schedule: 1 }, async () => ({ status: 'launched', experiment_set_id: 3 })],
    ['an unknown schedule', 1, { schedule_id: 1 }, async () => Promise.reject(new NotFoundError('schedule', 1))],
    ['a launch that threw (retried by Lambda)', 1, { schedule_id: 1 }, async () => Promise.reject(new Error('database unreachable'))],
  ])('counts %s as %d, once', async (_name, value, event, launch) => {
    expect((await counted(event, launch)).values).toEqual([value]);
  });
});
