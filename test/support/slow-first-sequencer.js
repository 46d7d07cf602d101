// Orders the test files so the slowest start first: with two workers, a
// slow file started last keeps one worker busy alone at the end of the run.
// Jest's own order does this from the durations it cached on an earlier run
// on the machine, and by file size without them (a clean clone, a CI runner):
// file size does not tell a 60 s fault-injection file from a 60 ms unit test.
// So a file's duration is the cached one if any, else the one measured below.
// Plain JS: jest loads it untransformed.
import path from 'node:path';
import jestSequencer from '@jest/test-sequencer';

const Sequencer = jestSequencer.default ?? jestSequencer;

/**
 * Seconds each slow file took alone on a 2-core machine (`npx jest <file>`);
 * only their order matters, so they need not be exact or current to help.
 */
const MEASURED_SEC = {
  'test/integration/outages.test.ts': 56,
  'test/integration/chaos.test.ts': 48,
  'test/integration/runner.test.ts': 42,
  'test/integration/runner-task-protection.test.ts': 34,
  'test/cdk/runner-image.test.ts': 33,
  'test/e2e/cli.test.ts': 25,
  'test/e2e/ui-views.test.ts': 20,
  'test/integration/sweeper.test.ts': 20,
  'test/integration/modelless.test.ts': 17,
  'test/integration/runner-scale-out.test.ts': 15,
  'test/evalap-compat/notebooks.test.ts': 13,
  'test/integration/runner-faults.test.ts': 11,
  'test/e2e/local-stack.test.ts': 11,
};

export default class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const duration = (test) => this.time(test) ?? (MEASURED_SEC[path.relative(test.context.config.rootDir, test.path).split(path.sep).join('/')] ?? 0) * 1000;
    const size = (test) => test.context.hasteFS.getSize(test.path) ?? 0;
    // As jest's own: what failed last time first, for the quickest feedback; then the longest; unknown ones by size.
    return [...tests].sort((a, b) => Number(this.hasFailed(b)) - Number(this.hasFailed(a)) || duration(b) - duration(a) || size(b) - size(a));
  }
}
