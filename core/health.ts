/** Whether the parts the API depends on answer: PostgreSQL and the queue. */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Core } from './context.js';

export interface Check {
  ok: boolean;
  error?: string;
  ms: number;
}

export interface Health {
  status: 'ok' | 'degraded';
  checks: Record<string, Check>;
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

export async function health(core: Core, extra: Record<string, () => Promise<unknown>> = {}): Promise<Health> {
  const entries = await Promise.all(
    Object.entries({
      database: () => core.db.query('SELECT 1'),
      queue: () => core.sqs.send(new GetQueueAttributesCommand({ QueueUrl: core.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] })),
      ...extra,
    }).map(async ([name, fn]) => [name, await check(fn)] as const),
  );
  return { status: entries.every(([, c]) => c.ok) ? 'ok' : 'degraded', checks: Object.fromEntries(entries) };
}
