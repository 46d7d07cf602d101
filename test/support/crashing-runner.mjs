/**
 * The built runner (dist/runner/main.js) with crashing-worker.mjs as its
 * worker thread script: `node test/support/crashing-runner.mjs`, with the
 * runner's usual environment.
 */
import { runRunner } from '../../dist/runner/main.js';

runRunner({ workerScript: new URL('./crashing-worker.mjs', import.meta.url) });
