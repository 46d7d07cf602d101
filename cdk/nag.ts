/**
 * cdk-nag (AwsSolutions) suppressions. Each names the finding it accepts (a
 * wildcard resource is accepted only where AWS offers nothing narrower) and
 * says why. Everything else the pack checks passes as built.
 */
import type { CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { NagSuppressions, type NagPackSuppression } from 'cdk-nag';
import type { Api } from './api.js';
import type { Database } from './database.js';
import type { Migrations } from './migrations.js';
import type { Runner } from './runner.js';
import type { Schedules } from './schedules.js';
import type { AppSecrets } from './secrets.js';
import type { Settings } from './settings.js';
import type { Web } from './web.js';

/** The parts of the stack that carry accepted findings; named here, not imported from stack.ts, which calls this module. */
export type NaggedStack = Stack & {
  readonly api: Api;
  readonly schedules: Schedules;
  readonly migrations: Migrations;
  readonly runner: Runner;
  readonly database: Database;
  readonly secrets: AppSecrets;
  readonly web: Web;
};

const suppress = (construct: IConstruct, suppressions: NagPackSuppression[], applyToChildren = true) =>
  NagSuppressions.addResourceSuppressions(construct, suppressions, applyToChildren);

export function applyNagSuppressions(stack: NaggedStack, settings: Settings): void {
  for (const fn of [stack.api.function, stack.schedules.function, stack.migrations.function]) {
    suppress(fn, [
      {
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 on purpose: the project, its tests and the runner image (node:22) pin Node 22, so the Lambdas run the version everything was tested on.',
      },
    ]);
    suppress(fn.role!, [
      {
        id: 'AwsSolutions-IAM5',
        appliesTo: ['Resource::*'],
        reason:
          'Only X-Ray tracing uses "*" (xray:PutTraceSegments and PutTelemetryRecords take no resource). Data-plane grants (rds-data, SQS, Secrets Manager, KMS) name their resources; the Lambdas run outside the VPC, so no network-interface actions are granted.',
      },
    ]);
  }

  suppress(stack.api.function.role!, [
    {
      id: 'AwsSolutions-IAM5',
      appliesTo: [`Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${stack.schedules.groupName}/*`],
      reason:
        'The API creates one EventBridge schedule per Evalap schedule, named at run time: the grant covers the schedules of this stack\'s schedule group only (and iam:PassRole is limited to the scheduler role, passed to scheduler.amazonaws.com).',
    },
  ]);

  suppress(stack.runner.taskDefinition.obtainExecutionRole(), [
    {
      id: 'AwsSolutions-IAM5',
      appliesTo: ['Resource::*'],
      reason: 'ecr:GetAuthorizationToken takes no resource narrower than "*" (ECS pulls the runner image with it); the image pull itself is scoped to the asset repository, and the provider keys secret to its ARN.',
    },
  ]);
  suppress(stack.runner.taskDefinition.taskRole, [
    {
      id: 'AwsSolutions-IAM5',
      appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task\\/<RunnerCluster[0-9A-F]+>\\/\\*$/' }],
      reason:
        'Scale-in protection (ecs:UpdateTaskProtection, ecs:GetTaskProtection) is asked for by the running task about itself, and a task ARN is only known at run time: the grant covers the tasks of the runner\'s own cluster (task/<cluster>/*), the narrowest form these actions take.',
    },
  ]);
  suppress(stack.runner.taskDefinition, [
    {
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds non-secret settings only (queue URLs, concurrency, timeouts, log level, the database host, port, name and user, and the ARNs of the KMS key and of the database secret); the runner reads the database password from Secrets Manager at run time, and the provider keys are injected by ECS as secrets.',
    },
  ]);

  suppress(stack.api.httpApi, [
    {
      id: 'AwsSolutions-APIG4',
      reason:
        'The API authenticates in its Lambda: Evalap clients send "Authorization: Bearer <key>", checked in constant time against keys from Secrets Manager (functions/api/auth.ts), with admin-only routes; /health and /v1/openapi.json are public on purpose. An API Gateway authorizer would check the same keys twice.',
    },
  ]);

  suppress(stack.database.cluster, [
    {
      id: 'AwsSolutions-RDS6',
      reason:
        'Password authentication with the master password generated, stored and rotated by RDS in Secrets Manager (ManageMasterUserPassword), over enforced TLS (rds.force_ssl=1), from the runner\'s security group only; the Lambdas use the Data API (IAM-authorized). IAM database tokens would need a token refresh in the runner\'s pool and cap new connections per second.',
    },
  ]);

  if (!settings.deletionProtection) {
    suppress(stack.database.cluster, [
      {
        id: 'AwsSolutions-RDS10',
        reason: 'Deletion protection is off outside the production profile (context production=true, or deletionProtection=true, turns it on): non-production stacks are meant to be torn down; backups are kept for backupRetentionDays either way.',
      },
    ]);
  }

  suppress(stack.secrets.apiKeys, [
    {
      id: 'AwsSolutions-SMG4',
      reason: 'API keys are handed to people and scripts: rotating them automatically would lock clients out. Operators rotate them by hand (README.md, "Deploy to AWS"); the API rereads the secret through a short-lived cache.',
    },
  ]);
  suppress(stack.secrets.providerKeys, [
    {
      id: 'AwsSolutions-SMG4',
      reason: 'Model provider keys are issued by third parties (OpenAI-compatible providers); Secrets Manager cannot rotate them. Operators replace them when the provider rotates them.',
    },
  ]);

  suppressWeb(stack, settings);

  suppress(stack.schedules.deadLetterQueue, [
    {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue: the on-failure destination of the schedule Lambda\'s asynchronous invocations (Lambda, not an SQS redrive policy, sends to it), watched by an alarm.',
    },
  ]);
}

function suppressWeb(stack: NaggedStack, settings: Settings): void {
  const { web } = stack;
  suppress(web.deployRole, [
    {
      id: 'AwsSolutions-IAM5',
      appliesTo: [`Resource::<${stack.getLogicalId(web.bucket.node.defaultChild as CfnElement)}.Arn>/*`],
      reason:
        'The deployment syncs the built UI into its own bucket: the files are named by the build (content hashes), so the grant covers the objects of that one bucket (get, put, delete, abort upload). The UI zip is read by its exact key, and invalidations name the distribution.',
    },
  ]);
  // BucketDeployment's handler: one Lambda per stack, made by aws-cdk-lib with the runtime it was tested on.
  for (const child of stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'))) {
    suppress(child, [
      {
        id: 'AwsSolutions-L1',
        reason: 'The S3 deployment handler is aws-cdk-lib\'s own (BucketDeployment), whose Python runtime it pins and tests with its AWS CLI layer; it runs only during deploys, and a CDK upgrade moves it.',
      },
    ]);
  }
  suppress(web.distribution, [
    {
      id: 'AwsSolutions-CFR1',
      reason: 'Evalap serves its users wherever they are; every non-public route needs an API key. Operators who must restrict countries attach a WAF web ACL with a geo match rule (the webAclArn setting).',
    },
  ]);
  if (!settings.webAclArn) {
    suppress(web.distribution, [
      {
        id: 'AwsSolutions-CFR2',
        reason: 'WAF is optional (the webAclArn setting attaches a CLOUDFRONT web ACL): a web ACL costs $5/month plus $1 per rule at rest, while the API authenticates every non-public route with keys and API Gateway throttles it.',
      },
    ]);
  }
  if (!settings.webDomainName) {
    suppress(web.distribution, [
      {
        id: 'AwsSolutions-CFR4',
        reason: 'Without a custom domain the distribution uses CloudFront\'s default *.cloudfront.net certificate, whose security policy CloudFront fixes (TLSv1); webDomainName with webCertificateArn switches to SNI and TLSv1.2_2021 as the minimum.',
      },
    ]);
  }
}
