/**
 * Schema migrations at deploy time, never on the request path: the
 * migrations Lambda (functions/migrate/handler.ts, through the Data API,
 * retrying while Aurora resumes) run by a CDK Trigger
 * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.triggers-readme.html):
 *
 * - after the database's writer instance exists (`executeAfter`);
 * - again whenever the function's code or configuration changes, i.e. when a
 *   migration is added (the Trigger invokes the function's current version,
 *   a new resource on every change);
 * - before the API, the schedule Lambda and the runner service are created
 *   or updated (`executeBefore`), so new code never meets an old schema;
 * - synchronously: a failed migration (an error, or the 5-minute timeout)
 *   fails the Trigger, hence the deploy, and CloudFormation rolls back.
 *   (On a rollback the Trigger invokes the previous version, whose
 *   migrations are already applied: nothing to do.)
 *
 * The Trigger's provider is CDK's own Lambda; two things are changed on it
 * so it meets the rules the rest of the stack meets: a log group with the
 * stack's retention (instead of one Lambda creates on first write, kept
 * forever), and a role that may write only there (instead of the AWS managed
 * AWSLambdaBasicExecutionRole, logs on every log group).
 */
import { CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import type { Database } from './database.js';
import { appFunction } from './lambda.js';
import { scheduleEnvironment } from './schedules.js';

/** The migrations Lambda's timeout: long enough for Aurora to resume (~15–30 s) and a slow migration. */
export const MIGRATE_TIMEOUT = Duration.minutes(5);

export interface MigrationsProps {
  repoRoot: string;
  queue: sqs.IQueue;
  database: Database;
  providerKeyEncryption: kms.IKey;
  sharedEnvironment: Record<string, string>;
  logRetention: logs.RetentionDays;
}

export class Migrations extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.ILogGroup;
  readonly trigger: triggers.Trigger;
  /** The Trigger's custom resource (what other resources depend on). */
  readonly triggerResource: CfnResource;

  constructor(scope: Construct, id: string, props: MigrationsProps) {
    super(scope, id);
    const made = appFunction(this, 'Function', {
      repoRoot: props.repoRoot,
      entry: 'functions/migrate/handler.ts',
      description: 'Evalap: applies the database migrations (run by a CDK Trigger at each deploy that changes them)',
      memoryMiB: 512,
      timeout: MIGRATE_TIMEOUT,
      logRetention: props.logRetention,
      // The schedule Lambda's variables: the Data API, the queue, the KMS key.
      environment: scheduleEnvironment(props),
    });
    this.function = made.function;
    this.logGroup = made.logGroup;
    props.database.grantDataApi(this.function);
    // One migration seals provider keys stored in clear (envelope encryption, as the API does).
    props.providerKeyEncryption.grant(this.function, 'kms:GenerateDataKey');

    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: this.function,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      // How long the provider waits for the invocation's answer: beyond the function's own timeout.
      timeout: MIGRATE_TIMEOUT.plus(Duration.minutes(1)),
      executeOnHandlerChange: true,
      executeAfter: [props.database.writer],
    });
    this.triggerResource = this.trigger.node.defaultChild as CfnResource;
    this.hardenProvider(props.logRetention);
  }

  /** Runs the migrations before `scopes` are created or updated. */
  runBefore(...scopes: Construct[]): void {
    this.trigger.executeBefore(...scopes);
  }

  private hardenProvider(retention: logs.RetentionDays): void {
    // The provider is a singleton of the stack (aws-cdk-lib/triggers: TriggerProvider).
    const provider = Stack.of(this).node.findChild('AWSCDK.TriggerCustomResourceProviderCustomResourceProvider') as Construct & {
      addToRolePolicy(statement: unknown): void;
    };
    const role = provider.node.findChild('Role') as CfnResource;
    const handler = provider.node.findChild('Handler') as CfnResource;
    const logGroup = new logs.LogGroup(this, 'TriggerProviderLogs', { retention, removalPolicy: RemovalPolicy.DESTROY });
    handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
    role.addPropertyDeletionOverride('ManagedPolicyArns');
    provider.addToRolePolicy({ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [logGroup.logGroupArn] });
  }
}
