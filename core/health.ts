/**
 * Whether the parts the API depends on answer (PostgreSQL and the queue), and
 * which experiments have stalled: those are reported, not counted against the
 * API's health (the sweeper acts on them).
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { CoreContext } from './context.js';
import { stalledExperiments } from './store/sweep.js';

export interface Check {
  ok: boolean;
  error?: string;
  ms: number;
}

export interface Health {
  status: 'ok' | 'degraded';
  checks: Record<string, Check>;
  /** Unfinished experiments with no progress for EVALAP_STALL_AFTER_SEC (at most 100), when the database answers. */
  stalled_experiments?: { id: number; status: string; since: string }[];
}

async function check(fn: () => Promise<unknown>): Promise<Check> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([fn(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out after 2 s')), 2000)))]);
    return { ok: true, ms: Math.round(performance.now() - start) };
  } catch (err) {
    return { ok: false, error: (err as Error).message || (err as Error).name, ms: Math.round(performance.now() - start) };
  } finally {
    clearTimeout(timer);
  }
}

export async function health(core: CoreContext, extra: Record<string, () => Promise<unknown>> = {}): Promise<Health> {
  const entries = await Promise.all(
    Object.entries({
      database: () => core.db.query('SELECT 1'),
      queue: () => core.sqs.send(new GetQueueAttributesCommand({ QueueUrl: core.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] })),
      ...extra,
    }).map(async ([name, fn]) => [name, await check(fn)] as const),
  );
  const checks = Object.fromEntries(entries);
  const stalled = checks.database.ok ? await stalledExperiments(core.db, core.config.EVALAP_STALL_AFTER_SEC).catch(() => undefined) : undefined;
  return { status: entries.every(([, c]) => c.ok) ? 'ok' : 'degraded', checks, ...(stalled ? { stalled_experiments: stalled } : {}) };
}
