/**
 * Scheduled runs: the schedule Lambda (functions/schedule/handler.ts, which
 * fires a tick through the core's `tick`), the role EventBridge Scheduler
 * assumes to invoke it (lambda:InvokeFunction on exactly that function, only
 * for schedules of this stack's group), and that schedule group. The
 * schedules themselves are data: one EventBridge schedule per Evalap
 * schedule, created by the API (core/scheduler.ts: target = the function,
 * role = the role, input = {"schedule_id": id}), not part of the stack;
 * `grantManagement` gives the API what it needs.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAMBDA_PG_TLS } from './api.js';
import { appFunction } from './lambda.js';

export interface SchedulesProps {
  repoRoot: string;
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  queue: sqs.IQueue;
  databaseSecret: secretsmanager.ISecret;
  providerKeyEncryption: kms.IKey;
  sharedEnvironment: Record<string, string>;
  logRetention: logs.RetentionDays;
}

export class Schedules extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.ILogGroup;
  readonly schedulerRole: iam.Role;
  readonly group: scheduler.CfnScheduleGroup;
  readonly groupName: string;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Evalap schedule Lambda: out to PostgreSQL and the VPC endpoints',
      allowAllOutbound: true,
    });
    const made = appFunction(this, 'Function', {
      repoRoot: props.repoRoot,
      entry: 'functions/schedule/handler.ts',
      description: 'Evalap: launches a scheduled experiment set (invoked by EventBridge Scheduler)',
      vpc: props.vpc,
      subnets: props.subnets,
      securityGroup: this.securityGroup,
      memoryMiB: 512,
      timeout: Duration.seconds(60),
      logRetention: props.logRetention,
      environment: {
        ...props.sharedEnvironment,
        QUEUE_URL: props.queue.queueUrl,
        DATABASE_SECRET_ARN: props.databaseSecret.secretArn,
        ...LAMBDA_PG_TLS,
        EVALAP_KMS_KEY_ID: props.providerKeyEncryption.keyArn,
      },
    });
    this.function = made.function;
    this.logGroup = made.logGroup;
    // A tick launches the API's way: read and write the database, seal the
    // template's provider keys, enqueue fan-out tasks.
    props.queue.grantSendMessages(this.function);
    props.databaseSecret.grantRead(this.function);
    props.providerKeyEncryption.grant(this.function, 'kms:GenerateDataKey');

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
    // The variables core/config.ts reads (core/scheduler.ts keeps the EventBridge schedules).
    return {
      SCHEDULER_GROUP: this.groupName,
      SCHEDULER_LAMBDA_ARN: this.function.functionArn,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
    };
  }
}
