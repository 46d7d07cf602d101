/**
 * Builds the CDK app: one EvalapStack, checked by cdk-nag's AwsSolutions
 * pack. Shared by cdk/app.ts (the `cdk` CLI's entry) and the tests, so both
 * synthesize the same thing.
 */
import { App, Annotations, Aspects, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings, SETTINGS } from './settings.js';
import { EvalapStack } from './stack.js';

export interface BuildOptions extends AppProps {
  repoRoot: string;
  stackName?: string;
}

/** Context keys that are ours but not settings. */
const OTHER_KEYS = new Set(['stackName']);

export function buildApp(options: BuildOptions): { app: App; stack: EvalapStack } {
  const { repoRoot, stackName, ...appProps } = options;
  const app = new App(appProps);
  const name = stackName ?? (app.node.tryGetContext('stackName') as string | undefined) ?? 'Evalap';
  const stack = new EvalapStack(app, name, { repoRoot, settings: readSettings(app.node) });
  // A mistyped setting (`-c natGateway=0`) would otherwise be silently ignored.
  for (const key of Object.keys(app.node.getAllContext())) {
    if (/^[a-z][A-Za-z0-9]*$/.test(key) && !(key in SETTINGS) && !OTHER_KEYS.has(key)) {
      Annotations.of(stack).addWarningV2('evalap:unknownContext', `unknown context value "${key}": see README.md, "Deploy to AWS" for the settings`);
    }
  }
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return { app, stack };
}
