/**
 * The CDK app (cdk.json builds this file with esbuild and runs it). The
 * repository's root is the working directory the `cdk` CLI runs in.
 */
import { buildApp } from './build.js';
import { SettingError } from './settings.js';

try {
  const { app } = buildApp({ repoRoot: process.cwd() });
  app.synth();
} catch (err) {
  // A wrong setting is the operator's to fix: its message says which and why; a stack trace would bury it.
  if (!(err instanceof SettingError)) throw err;
  process.stderr.write(`${err.message}\nSee README.md, "Deploy to AWS", "Settings (CDK context)".\n`);
  process.exitCode = 1;
}
