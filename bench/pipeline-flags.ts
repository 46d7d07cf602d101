/** The pipeline bench's command-line switches (bench/pipeline.ts lists them). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const VERBOSE = process.argv.includes('--verbose');
export const PROFILE_DIR = process.argv.includes('--profile') ? fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-runner-prof-')) : undefined;
/** --env=NAME=VALUE (repeatable): extra runner environment, to try a setting (e.g. --env=RUNNER_PREFETCH=32). */
export const EXTRA_ENV = Object.fromEntries(
  process.argv.filter((a) => a.startsWith('--env=')).map((a) => {
    const kv = a.slice('--env='.length);
    return [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)];
  }),
);
/** --gc: the runner runs with --trace-gc; each run prints its isolates' heap after full GCs (leak or not). */
export const TRACE_GC = process.argv.includes('--gc');
/** --log=FILE: every line the runner writes goes to FILE too (with --env=LOG_LEVEL=debug: each dispatch, each fan-out chunk). */
export const LOG_FILE = process.argv.find((a) => a.startsWith('--log='))?.slice('--log='.length);
/** --rss-n=N: the large size of the rss scenario (default 100,000), for quicker diagnosis. */
export const RSS_LARGE = Number(process.argv.find((a) => a.startsWith('--rss-n='))?.slice('--rss-n='.length) ?? 100_000);
/** --wait-quiet: before each scenario, wait (up to 2 min) until the machine is idle, since others may share it. */
export const WAIT_QUIET = process.argv.includes('--wait-quiet');
/** --analyze: ANALYZE after the dataset uploads (diagnostic: what the row-state query costs with fresh statistics). */
export const ANALYZE = process.argv.includes('--analyze');
/** --sqscount: the runner talks to SQS through a counting proxy; each run prints its SQS calls per row by action. */
export const SQS_COUNT = process.argv.includes('--sqscount');
/** --pgstats: pg_stat_statements on, and the top statements of each run printed. */
export const PGSTATS = process.argv.includes('--pgstats');
