/**
 * The CDK app (cdk.json builds this file with esbuild and runs it). The
 * repository's root is the working directory the `cdk` CLI runs in.
 */
import { buildApp } from './build.js';

const { app } = buildApp({ repoRoot: process.cwd() });
app.synth();
