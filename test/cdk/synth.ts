/**
 * Synthesizes the CDK app as `cdk synth` does: cdk.json's context (feature
 * flags and defaults), then the test's overrides, into a throwaway folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from 'aws-cdk-lib';
import { buildApp } from '../../cdk/build.js';
import type { EvalapStack } from '../../cdk/stack.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A built web interface in miniature (index.html, hashed assets/), relative to the repository. */
export const UI_FIXTURE = 'test/cdk/fixtures/ui';

const cdkJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

export interface SynthOptions {
  context?: Record<string, unknown>;
  /** Bundle the Lambdas with esbuild (slow-ish); off, their code is a placeholder. */
  bundle?: boolean;
  /** CDK's built-in CloudFormation schema validation (a few seconds). */
  validate?: boolean;
}

export function synth(options: SynthOptions = {}): { app: App; stack: EvalapStack; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-cdk-'));
  const { app, stack } = buildApp({
    repoRoot,
    outdir,
    context: {
      ...cdkJson.context,
      // The CLI's way of skipping asset bundling: no stack is bundled.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      // A small built UI, so the stack's tests never depend on the UI's own build having run.
      uiDir: UI_FIXTURE,
      ...options.context,
    },
    builtinCloudFormationValidation: options.validate ?? false,
  });
  app.synth();
  return { app, stack, outdir };
}

export function removeOutdir(outdir: string): void {
  fs.rmSync(outdir, { recursive: true, force: true });
}
