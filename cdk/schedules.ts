/**
 * Scheduled runs: the schedule Lambda (functions/schedule/handler.ts, which
 * fires a tick through the core's `tick`), the role EventBridge Scheduler
 * assumes to invoke it (lambda:InvokeFunction on exactly that function, only
 * for schedules of this stack's group), and that schedule group. The
 * schedules themselves are data: one EventBridge schedule per Evalap
 * schedule, created by the API (core/schedules/eventbridge.ts: target = the function,
 * role = the role, input = {"schedule_id": id}), not part of the stack;
 * `grantManagement` gives the API what it needs.
 *
 * EventBridge Scheduler invokes a Lambda target asynchronously
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html),
 * so a tick whose function fails is retried by Lambda's async invocation
 * (twice, over up to 6 hours), then its record goes to an SQS dead-letter
 * queue through the on-failure destination (payload + error), which an alarm
 * watches (cdk/monitoring.ts): a scheduled run is never dropped silently.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SCHEDULE_ERRORS } from '../functions/schedule/metrics.js';
import type { Database } from './database.js';
import { appFunction, LAMBDA_SERVICE } from './lambda.js';
import { metricNamespace } from './monitoring.js';

export interface SchedulesProps {
  repoRoot: string;
  queue: sqs.IQueue;
  database: Database;
  providerKeyEncryption: kms.IKey;
  /** The judge providers' keys: a tick resolves judge names at launch as the API does. */
  providerKeys?: secretsmanager.ISecret;
  sharedEnvironment: Record<string, string>;
  dlqRetentionDays: number;
  logRetention: logs.RetentionDays;
}

export const SCHEDULE_TIMEOUT = Duration.seconds(60);

/** The schedule Lambda's environment (the migrations Lambda gets the same, cdk/migrations.ts). */
export function scheduleEnvironment(props: Pick<SchedulesProps, 'queue' | 'database' | 'providerKeyEncryption' | 'sharedEnvironment' | 'providerKeys'>): Record<string, string> {
  return {
    ...props.sharedEnvironment,
    QUEUE_URL: props.queue.queueUrl,
    ...props.database.dataApiEnvironment,
    EVALAP_KMS_KEY_ID: props.providerKeyEncryption.keyArn,
    ...(props.providerKeys ? { EVALAP_PROVIDER_KEYS_SECRET_ARN: props.providerKeys.secretArn } : {}),
  };
}

export class Schedules extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.ILogGroup;
  readonly schedulerRole: iam.Role;
  readonly group: scheduler.CfnScheduleGroup;
  readonly groupName: string;
  /** Where the records of ticks that failed every attempt go. */
  readonly deadLetterQueue: sqs.Queue;
  /** Runs that did not launch, per 5 minutes: the metric the function emits (EMF), where its environment (cdk/lambda.ts) sends it. */
  readonly errors: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const made = appFunction(this, 'Function', {
      repoRoot: props.repoRoot,
      entry: 'functions/schedule/handler.ts',
      description: 'Evalap: launches a scheduled experiment set (invoked by EventBridge Scheduler)',
      memoryMiB: 512,
      timeout: SCHEDULE_TIMEOUT,
      logRetention: props.logRetention,
      environment: scheduleEnvironment(props),
    });
    this.function = made.function;
    this.logGroup = made.logGroup;
    // Powertools Metrics adds the `service` dimension to every metric it emits (functions/schedule/metrics.ts).
    this.errors = new cloudwatch.Metric({
      namespace: metricNamespace(Stack.of(this).stackName),
      metricName: SCHEDULE_ERRORS,
      dimensionsMap: { service: LAMBDA_SERVICE },
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
    // A tick launches the API's way: read and write the database, seal the
    // template's provider keys, enqueue fan-out tasks.
    props.queue.grantSendMessages(this.function);
    props.database.grantDataApi(this.function);
    props.providerKeyEncryption.grant(this.function, 'kms:GenerateDataKey');
    props.providerKeys?.grantRead(this.function);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(props.dlqRetentionDays),
    });
    this.function.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: 2,
      // A tick is keyed by its scheduled_time (functions/schedule/): a late retry is still the same, idempotent tick.
      maxEventAge: Duration.hours(6),
    });

    const groupName = `${Stack.of(this).stackName}-schedules`;
    this.groupName = groupName;
    this.group = new scheduler.CfnScheduleGroup(this, 'Group', { name: groupName });
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler to invoke the Evalap schedule Lambda',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          // Only schedules of this stack's group may use the role.
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/${groupName}/*` },
        },
      }),
    });
    this.schedulerRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }));
  }

  /**
   * Lets `grantee` (the API) keep the EventBridge schedules in step with the
   * Evalap schedules: create, update and delete schedules of this group
   * only, and pass the scheduler role to EventBridge Scheduler only. Returns
   * the environment that tells it where.
   */
  grantManagement(grantee: iam.IGrantable): Record<string, string> {
    const stack = Stack.of(this);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ManageSchedules',
        actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
        resources: [stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${this.groupName}/*` })],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassSchedulerRole',
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    // The variables core/config.ts reads (core/schedules/eventbridge.ts keeps the EventBridge schedules).
    return {
      SCHEDULER_GROUP: this.groupName,
      SCHEDULER_LAMBDA_ARN: this.function.functionArn,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
    };
  }
}
