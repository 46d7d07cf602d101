/**
 * The project's Lambda functions: Node.js 22 on Graviton, bundled at synth
 * by the local esbuild (never Docker) into one self-contained ESM file, with
 * X-Ray tracing and a log group of their own. None runs in the VPC: they
 * reach PostgreSQL through the RDS Data API (HTTPS), so they need no network
 * interface, no NAT and no endpoint, and start without an ENI.
 */
import path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DOCS_ASSET_DIR, PACKAGED_FILES, type PackagedFile } from '../functions/api/docs-assets.js';
import { metricNamespace } from './monitoring.js';

export interface AppFunctionProps {
  /** The repository's root: entry points, package-lock.json and tsconfig.json are under it. */
  repoRoot: string;
  /** The handler's source, relative to the root; it exports `handler`. */
  entry: string;
  description: string;
  environment: Record<string, string>;
  memoryMiB: number;
  timeout: Duration;
  logRetention: logs.RetentionDays;
  reservedConcurrency?: number;
}

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;
/** POWERTOOLS_SERVICE_NAME of the Lambdas: the `service` of their log lines, and a dimension of their metrics (cdk/schedules.ts). */
export const LAMBDA_SERVICE = 'evalap';

/** What scripts/build.js does for dist/lambda/api/index.mjs, as NodejsFunction options. */
export function bundlingOptions(): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false,
    format: nodejs.OutputFormat.ESM,
    target: 'node22',
    platform: 'node',
    mainFields: ['module', 'main'],
    // ESM bundles that pull CommonJS dependencies need a `require`.
    banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    // Self-contained, AWS SDK included: the code runs with the SDK version it was tested with.
    bundleAwsSDK: true,
    // pg's optional native binding is never used.
    externalModules: ['pg-native'],
    minify: true,
    keepNames: true,
    sourceMap: true,
    sourcesContent: false,
    logLevel: nodejs.LogLevel.WARNING,
  };
}

/**
 * Files an entry reads from disk at run time, copied beside its bundle
 * (esbuild bundles code, not data). The API's documentation pages read their
 * Swagger UI and Redoc files from there rather than having them inlined into
 * the bundle, which every cold start of every route would parse
 * (functions/api/docs.ts).
 */
const FILES_BESIDE: Record<string, { dir: string; files: readonly PackagedFile[] }> = {
  'functions/api/handler.ts': { dir: DOCS_ASSET_DIR, files: PACKAGED_FILES },
};

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Shell commands run after esbuild (locally, with bash), copying `<package>/<file>` from node_modules into the asset. */
export function copyBeside(entry: string): nodejs.ICommandHooks | undefined {
  const beside = FILES_BESIDE[entry];
  if (!beside) return undefined;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir, outputDir) =>
      beside.files.map((f) => {
        const to = path.posix.join(outputDir, beside.dir, f.package, f.file);
        return `mkdir -p ${shellQuote(path.posix.dirname(to))} && cp ${shellQuote(path.posix.join(inputDir, 'node_modules', f.package, f.file))} ${shellQuote(to)}`;
      }),
  };
}

/**
 * A function's role, instead of the AWS managed AWSLambdaBasicExecutionRole
 * (logs on every log group): its own log group only. X-Ray's actions are
 * added by `tracing`.
 */
export function functionRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return role;
}

export function appFunction(scope: Construct, id: string, props: AppFunctionProps): { function: nodejs.NodejsFunction; logGroup: logs.LogGroup } {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const fn = new nodejs.NodejsFunction(scope, id, {
    role: functionRole(scope, `${id}Role`, logGroup),
    description: props.description,
    entry: path.join(props.repoRoot, props.entry),
    handler: 'handler',
    projectRoot: props.repoRoot,
    depsLockFilePath: path.join(props.repoRoot, 'package-lock.json'),
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memoryMiB,
    timeout: props.timeout,
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    reservedConcurrentExecutions: props.reservedConcurrency,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      // Powertools' service is the application, not the function: every line already names its function (function_name).
      POWERTOOLS_SERVICE_NAME: LAMBDA_SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: metricNamespace(Stack.of(scope).stackName),
      ...props.environment,
    },
    bundling: { ...bundlingOptions(), commandHooks: copyBeside(props.entry) },
  });
  return { function: fn, logGroup };
}
