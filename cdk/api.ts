/**
 * The HTTP API: API Gateway v2 (HTTP API) in front of the API Lambda
 * (functions/api/handler.ts), every route to the one handler, with access
 * logs and stage throttling. The handler authenticates with bearer keys
 * itself (functions/api/auth.ts), keys read from Secrets Manager. It reaches
 * PostgreSQL through the RDS Data API (outside the VPC, no connection held).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Database } from './database.js';
import { appFunction } from './lambda.js';

export interface ApiProps {
  repoRoot: string;
  queue: sqs.IQueue;
  database: Database;
  apiKeys: secretsmanager.ISecret;
  /** The judge providers' keys: the API lists a provider's models with them to resolve a judge name at launch. */
  providerKeys?: secretsmanager.ISecret;
  providerKeyEncryption: kms.IKey;
  /** Variables both the API and the runner get (log level, judge). */
  sharedEnvironment: Record<string, string>;
  memoryMiB: number;
  reservedConcurrency?: number;
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: logs.RetentionDays;
}

/** API Gateway gives up on an integration after 30 s. */
export const API_TIMEOUT = Duration.seconds(29);

export class Api extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.ILogGroup;
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const made = appFunction(this, 'Function', {
      repoRoot: props.repoRoot,
      entry: 'functions/api/handler.ts',
      description: 'Evalap v1 HTTP API',
      memoryMiB: props.memoryMiB,
      timeout: API_TIMEOUT,
      logRetention: props.logRetention,
      reservedConcurrency: props.reservedConcurrency,
      environment: {
        ...props.sharedEnvironment,
        QUEUE_URL: props.queue.queueUrl,
        ...props.database.dataApiEnvironment,
        EVALAP_API_KEYS_SECRET_ARN: props.apiKeys.secretArn,
        EVALAP_KMS_KEY_ID: props.providerKeyEncryption.keyArn,
        ...(props.providerKeys ? { EVALAP_PROVIDER_KEYS_SECRET_ARN: props.providerKeys.secretArn } : {}),
      },
    });
    this.function = made.function;
    this.logGroup = made.logGroup;
    // Enqueues launches and reads the queue's depth (/health).
    props.queue.grantSendMessages(this.function);
    props.database.grantDataApi(this.function);
    props.apiKeys.grantRead(this.function);
    props.providerKeys?.grantRead(this.function);
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
