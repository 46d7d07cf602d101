/**
 * The HTTP API: API Gateway v2 (HTTP API) in front of the API Lambda
 * (functions/api/handler.ts), every route to the one handler, with access
 * logs and stage throttling. The handler authenticates with bearer keys
 * itself (functions/api/auth.ts), keys read from Secrets Manager.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { appFunction } from './lambda.js';

export interface ApiProps {
  repoRoot: string;
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  queue: sqs.IQueue;
  databaseSecret: secretsmanager.ISecret;
  apiKeys: secretsmanager.ISecret;
  providerKeyEncryption: kms.IKey;
  /** Variables both the API and the runner get (log level, judge). */
  sharedEnvironment: Record<string, string>;
  memoryMiB: number;
  reservedConcurrency?: number;
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: logs.RetentionDays;
}

/** The Lambdas' settings for PostgreSQL over TLS, verified against the Amazon RDS CAs shipped in the runtime. */
export const LAMBDA_PG_TLS = { PGSSLMODE: 'verify-full', NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' } as const;

export class Api extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.ILogGroup;
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly securityGroup: ec2.SecurityGroup;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Evalap API Lambda: out to PostgreSQL and the VPC endpoints',
      allowAllOutbound: true,
    });
    const made = appFunction(this, 'Function', {
      repoRoot: props.repoRoot,
      entry: 'functions/api/handler.ts',
      description: 'Evalap v1 HTTP API',
      vpc: props.vpc,
      subnets: props.subnets,
      securityGroup: this.securityGroup,
      memoryMiB: props.memoryMiB,
      // API Gateway gives up on an integration after 30 s.
      timeout: Duration.seconds(29),
      logRetention: props.logRetention,
      reservedConcurrency: props.reservedConcurrency,
      environment: {
        ...props.sharedEnvironment,
        QUEUE_URL: props.queue.queueUrl,
        DATABASE_SECRET_ARN: props.databaseSecret.secretArn,
        ...LAMBDA_PG_TLS,
        EVALAP_API_KEYS_SECRET_ARN: props.apiKeys.secretArn,
        EVALAP_KMS_KEY_ID: props.providerKeyEncryption.keyArn,
      },
    });
    this.function = made.function;
    this.logGroup = made.logGroup;
    // Enqueues launches and reads the queue's depth (/health).
    props.queue.grantSendMessages(this.function);
    props.databaseSecret.grantRead(this.function);
    props.apiKeys.grantRead(this.function);
    // Seals provider keys (envelope encryption: a data key per seal); opening them is the runner's job.
    props.providerKeyEncryption.grant(this.function, 'kms:GenerateDataKey');

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Evalap v1 API',
      defaultIntegration: new HttpLambdaIntegration('Handler', this.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            time: '$context.requestTime',
            method: '$context.httpMethod',
            route: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
  }
}
