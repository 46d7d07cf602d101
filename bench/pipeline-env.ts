/** A scenario's surroundings: a private stack, the stub model, and (with --sqscount) the counting SQS proxy. */
import type { CoreContext } from '../core/context.js';
import type { RunningStack } from '../local/stack.js';
import type { Api } from './api.js';
import { EXTRA_ENV, PGSTATS, SQS_COUNT } from './pipeline-flags.js';
import { countingProxy, type CountingProxy } from './sqs-proxy.js';
import { startBenchStack } from './stack.js';
import { startModelServer, type StubModelServer } from './stub-model.js';

export interface Env {
  api: Api;
  core: CoreContext;
  stack: RunningStack;
  stub: StubModelServer;
  dataDir: string;
  /** Send times of the stub's answers, when the scenario's behaviour uses timedReply(env.responses). */
  responses: number[];
  runnerEnv(c: number): Record<string, string>;
}

/** --pgstats: PostgreSQL's log lines (auto_explain plans of statements over 5 ms). */
export const pgLog: string[] = [];

/** --sqscount: SQS requests by action, through the proxy. */
export const sqsCalls = new Map<string, number>();

/** The running scenario's cleanup, for the signal handler to stop its stack on Ctrl-C. */
export let cleanupCurrent: (() => Promise<void>) | undefined;

export async function withEnv<T>(fn: (env: Env) => Promise<T>): Promise<T> {
  // A pool, as before the Data API: these scenarios measure the runner, and the bench reads pg_stat_statements through it.
  const bench = await startBenchStack({
    name: 'pipeline',
    db: 'pool',
    pgSettings: PGSTATS
      ? {
          shared_preload_libraries: 'pg_stat_statements,auto_explain',
          'pg_stat_statements.track': 'all',
          'pg_stat_statements.track_planning': 'on',
          'auto_explain.log_min_duration': '5ms',
          'auto_explain.log_analyze': 'on',
          'auto_explain.log_timing': 'off',
        }
      : undefined,
    log: PGSTATS ? (line) => pgLog.push(line) : undefined,
  });
  let stub: StubModelServer | undefined;
  let proxy: CountingProxy | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      if (stub) await stub.close().catch(() => undefined);
      if (proxy) await proxy.close().catch(() => undefined);
      await bench.stop();
    })());
  cleanupCurrent = cleanup;
  try {
    stub = await startModelServer();
    if (SQS_COUNT && bench.stack.sqsEndpoint) proxy = await countingProxy(bench.stack.sqsEndpoint, sqsCalls);
    if (PGSTATS) await bench.core.db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const runnerEnv = bench.runnerEnv(proxy?.url);
    return await fn({
      api: bench.api,
      core: bench.core,
      stack: bench.stack,
      stub,
      dataDir: bench.dataDir,
      responses: [],
      runnerEnv: (c) => ({ ...runnerEnv, MAX_CONCURRENT_TASKS: String(c), ...EXTRA_ENV }),
    });
  } finally {
    await cleanup();
    cleanupCurrent = undefined;
  }
}
