/**
 * cdk-nag (AwsSolutions) suppressions. Each names the finding it accepts (a
 * wildcard resource is accepted only where AWS offers nothing narrower) and
 * says why. Everything else the pack checks passes as built.
 */
import type { IConstruct } from 'constructs';
import { NagSuppressions, type NagPackSuppression } from 'cdk-nag';
import type { Settings } from './settings.js';
import type { EvalapStack } from './stack.js';

const suppress = (construct: IConstruct, suppressions: NagPackSuppression[], applyToChildren = true) =>
  NagSuppressions.addResourceSuppressions(construct, suppressions, applyToChildren);

export function applyNagSuppressions(stack: EvalapStack, settings: Settings): void {
  for (const fn of [stack.api.function, stack.schedules.function]) {
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
          'Only two statements use "*", both required by AWS: the Lambda-in-VPC network interface actions (ec2:CreateNetworkInterface, DescribeNetworkInterfaces, ... take no narrower resource) and X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords take no resource). Data-plane grants (SQS, Secrets Manager, KMS) name their resources.',
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
      reason: 'ecr:GetAuthorizationToken takes no resource narrower than "*" (ECS pulls the runner image with it); the image pull itself is scoped to the asset repository, and secrets to their ARNs.',
    },
  ]);
  suppress(stack.runner.taskDefinition, [
    {
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds non-secret settings only (queue URLs, concurrency, timeouts, log level, KMS key ARN); the database credentials and provider keys are injected from Secrets Manager as ECS secrets.',
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
        'Password authentication with credentials in Secrets Manager, rotated every 30 days, over enforced TLS (rds.force_ssl=1), from security groups of the API, runner and schedule functions only. IAM database tokens would need a token refresh in every connection pool and cap new connections per second.',
    },
  ]);

  if (!settings.deletionProtection) {
    suppress(stack.database.cluster, [
      {
        id: 'AwsSolutions-RDS10',
        reason: 'Deletion protection was turned off on purpose (context deletionProtection=false), for a throwaway stack; the default keeps it on.',
      },
    ]);
  }

  suppress(stack.secrets.apiKeys, [
    {
      id: 'AwsSolutions-SMG4',
      reason: 'API keys are handed to people and scripts: rotating them automatically would lock clients out. Operators rotate them by hand (README.md, "Deploy to AWS"); the API reads the current value.',
    },
  ]);
  suppress(stack.secrets.providerKeys, [
    {
      id: 'AwsSolutions-SMG4',
      reason: 'Model provider keys are issued by third parties (OpenAI-compatible providers); Secrets Manager cannot rotate them. Operators replace them when the provider rotates them.',
    },
  ]);
}
