// ESM + swc: middy 5+ and fauxqs are ESM-only, so the whole project is ESM and
// jest runs with --experimental-vm-modules (see package.json scripts).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // cdk synth stages a copy of package.json under cdk.out: not a module of ours.
  modulePathIgnorePatterns: ['<rootDir>/cdk.out'],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // The slowest files first on a clean clone too, so none starts last on its own.
  // No maxWorkers: jest's default (CPUs - 1) is one on a 2-core machine; with two, the
  // browser test missed a 30 s wait for its first view beside the fault-injection files.
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
  testTimeout: 30000,
};
