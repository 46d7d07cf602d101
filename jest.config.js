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
  testTimeout: 30000,
};
