/**
 * The whole platform in one stack: network, queue, database, secrets, the
 * migrations, the API, the runner, scheduled runs, their monitoring, and the
 * web interface (S3 behind CloudFront, which also routes the API's paths).
 * Environment-agnostic (no account or region at synth, no look-ups): `cdk
 * synth` runs offline. Termination protection is on unless the
 * `terminationProtection` setting turns it off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Api, API_TIMEOUT } from './api.js';
import { Database, DATABASE_NAME, DATABASE_PORT, DATABASE_USER } from './database.js';
import { Migrations, MIGRATE_TIMEOUT } from './migrations.js';
import { Monitoring } from './monitoring.js';
import { Network } from './network.js';
import { applyNagSuppressions } from './nag.js';
import { TasksQueue } from './queue.js';
import { Runner } from './runner.js';
import { SCHEDULE_TIMEOUT, Schedules } from './schedules.js';
import { AppSecrets, PROVIDER_KEY_FIELDS } from './secrets.js';
import { runnerSize, SettingError, stopTimeoutSec, type Settings } from './settings.js';
import { Web } from './web.js';

export interface EvalapStackProps extends StackProps {
  /** The repository's root: sources of the Lambdas and the runner image. */
  repoRoot: string;
  settings: Settings;
}

export class EvalapStack extends Stack {
  readonly settings: Settings;
  readonly network: Network;
  readonly tasks: TasksQueue;
  readonly secrets: AppSecrets;
  readonly database: Database;
  readonly migrations: Migrations;
  readonly api: Api;
  readonly runner: Runner;
  readonly schedules: Schedules;
  readonly monitoring: Monitoring;
  readonly web: Web;

  constructor(scope: Construct, id: string, props: EvalapStackProps) {
    const s = props.settings;
    super(scope, id, {
      description: 'Evalap: LLM evaluation platform (API, queue, runner, database)',
      terminationProtection: s.terminationProtection,
      ...props,
    });
    this.settings = s;
    const logRetention = Number(s.logRetentionDays) as logs.RetentionDays;
    Tags.of(this).add('project', 'evalap');

    this.network = new Network(this, 'Network', {
      layout: s.networkLayout,
      natGateways: s.natGateways,
      interfaceEndpoints: s.interfaceEndpoints,
      logRetention,
    });
    const { vpc } = this.network;
    this.tasks = new TasksQueue(this, 'Tasks', {
      maxReceiveCount: s.maxReceiveCount,
      visibilityTimeoutSec: s.visibilityTimeoutSec,
      dlqRetentionDays: s.dlqRetentionDays,
    });
    this.secrets = new AppSecrets(this, 'Secrets');
    this.database = new Database(this, 'Database', {
      vpc,
      subnets: this.network.dataSubnets,
      minCapacity: s.auroraMinCapacity,
      maxCapacity: s.auroraMaxCapacity,
      autoPauseMin: s.auroraAutoPauseMin,
      reader: s.auroraReader,
      backupRetentionDays: s.backupRetentionDays,
      deletionProtection: s.deletionProtection,
      logRetention,
    });

    const sharedEnvironment: Record<string, string> = {
      LOG_LEVEL: s.logLevel,
      ...(s.judgeModel ? { EVALAP_JUDGE_MODEL: s.judgeModel } : {}),
      ...(s.judgeBaseUrl ? { EVALAP_JUDGE_BASE_URL: s.judgeBaseUrl } : {}),
    };
    const common = {
      repoRoot: props.repoRoot,
      queue: this.tasks.queue,
      database: this.database,
      providerKeyEncryption: this.secrets.providerKeyEncryption,
      sharedEnvironment,
      logRetention,
    };
    this.migrations = new Migrations(this, 'Migrations', common);
    // The API and the schedule Lambda resolve judge names at launch with the providers' keys.
    this.schedules = new Schedules(this, 'Schedules', { ...common, providerKeys: this.secrets.providerKeys, dlqRetentionDays: s.dlqRetentionDays });

    this.api = new Api(this, 'Api', {
      ...common,
      apiKeys: this.secrets.apiKeys,
      providerKeys: this.secrets.providerKeys,
      memoryMiB: s.apiMemoryMiB,
      reservedConcurrency: s.apiReservedConcurrency,
      throttle: { rateLimit: s.apiThrottleRate, burstLimit: s.apiThrottleBurst },
    });
    // The API creates, updates and deletes the EventBridge schedule of each Evalap schedule.
    for (const [name, value] of Object.entries(this.schedules.grantManagement(this.api.function))) this.api.function.addEnvironment(name, value);

    const size = runnerSize(s);
    this.runner = new Runner(this, 'Runner', {
      repoRoot: props.repoRoot,
      vpc,
      subnets: this.network.runnerSubnets,
      assignPublicIp: this.network.runnerPublicIp,
      queue: this.tasks.queue,
      deadLetterQueue: this.tasks.deadLetterQueue,
      database: {
        host: this.database.cluster.clusterEndpoint.hostname,
        port: DATABASE_PORT,
        name: DATABASE_NAME,
        user: DATABASE_USER,
        secret: this.database.secret,
      },
      providerKeys: this.secrets.providerKeys,
      providerKeyFields: PROVIDER_KEY_FIELDS,
      providerKeyEncryption: this.secrets.providerKeyEncryption,
      sharedEnvironment,
      cpu: size.cpu,
      memoryMiB: size.memoryMiB,
      maxConcurrentTasks: s.maxConcurrentTasks,
      workerThreads: s.runnerWorkerThreads ?? Math.max(1, Math.min(s.maxConcurrentTasks, size.vcpus - 1)),
      visibilityTimeoutSec: s.visibilityTimeoutSec,
      shutdownGraceMs: s.shutdownGraceMs,
      stopTimeoutSec: stopTimeoutSec(s),
      minTasks: s.runnerMinTasks,
      maxTasks: s.runnerMaxTasks,
      backlogPerTask: s.backlogPerTask,
      scaleInAfterMin: s.scaleInAfterMin,
      logRetention,
    });
    // The only network path into the database.
    this.database.allowFrom(this.runner.securityGroup, 'Runner');
    // New code never meets an old schema; a failed migration fails the deploy.
    this.migrations.runBefore(this.api.function, this.schedules.function, this.runner.service);

    // The UI is built apart (`npm run build`): without it the site would be empty, or an old build.
    const uiDir = path.resolve(props.repoRoot, s.uiDir);
    if (!fs.existsSync(path.join(uiDir, 'index.html'))) throw new SettingError('uiDir', `${uiDir} has no index.html: build the web interface first (npm run build)`);
    this.web = new Web(this, 'Web', {
      uiDir,
      httpApi: this.api.httpApi,
      logRetention,
      domainName: s.webDomainName,
      certificateArn: s.webCertificateArn,
      webAclArn: s.webAclArn,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      queue: this.tasks.queue,
      deadLetterQueue: this.tasks.deadLetterQueue,
      scheduleDeadLetterQueue: this.schedules.deadLetterQueue,
      runnerLogs: this.runner.logGroup,
      runnerService: this.runner.service,
      runnerCluster: this.runner.cluster,
      runnerBacklog: this.runner.backlog,
      httpApi: this.api.httpApi,
      functions: [
        { name: 'Api', function: this.api.function, timeout: API_TIMEOUT },
        { name: 'Schedule', function: this.schedules.function, timeout: SCHEDULE_TIMEOUT },
        { name: 'Migrate', function: this.migrations.function, timeout: MIGRATE_TIMEOUT },
      ],
      scheduleErrors: this.schedules.errors,
      database: this.database.cluster,
      databaseMaxCapacity: s.auroraMaxCapacity,
      databaseMaxConnections: this.database.maxConnections,
      oldestMessageAlarmSec: s.oldestMessageAlarmSec,
      alarmEmail: s.alarmEmail,
    });

    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('ApiUrl', this.api.stage.url, 'Base URL of the Evalap API');
    out('WebUrl', this.web.url, 'The web interface; its /v1/* (and /openapi.json, /docs, /redoc, /health) is the API, same origin');
    out('WebDistributionDomain', this.web.distribution.distributionDomainName, 'CloudFront domain of the web interface (the CNAME or alias target of webDomainName)');
    out('WebBucketName', this.web.bucket.bucketName, 'Private S3 bucket of the web interface\'s files (kept when the stack is deleted)');
    out('WebLogBucketName', this.web.logBucket.bucketName, 'S3 bucket of CloudFront\'s and the UI bucket\'s access logs (kept when the stack is deleted)');
    out('QueueUrl', this.tasks.queue.queueUrl, 'URL of the tasks queue');
    out('DeadLetterQueueUrl', this.tasks.deadLetterQueue.queueUrl, 'URL of the dead-letter queue');
    out('ScheduleDeadLetterQueueUrl', this.schedules.deadLetterQueue.queueUrl, 'URL of the queue of scheduled runs that failed every attempt');
    out('DatabaseEndpoint', this.database.cluster.clusterEndpoint.socketAddress, 'Aurora PostgreSQL writer endpoint (host:port), reachable from the runner only');
    out('DatabaseClusterArn', this.database.clusterArn, 'Aurora cluster ARN (the Data API resource ARN)');
    out('DatabaseSecretArn', this.database.secret.secretArn, 'RDS-managed secret of the database master user (rotated by RDS)');
    out('ApiKeysSecretName', this.secrets.apiKeys.secretName, 'Secret with EVALAP_API_KEYS and EVALAP_ADMIN_KEY');
    out('ProviderKeysSecretName', this.secrets.providerKeys.secretName, 'Secret with the judge providers\' keys (OPENAI_API_KEY, MISTRAL_API_KEY, ..., EVALAP_JUDGE_API_KEY) the API, the schedule Lambda and the runner use');
    out('ProviderKeyEncryptionKeyArn', this.secrets.providerKeyEncryption.keyArn, 'KMS key sealing the provider keys stored with experiments');
    out('MigrateFunctionName', this.migrations.function.functionName, 'Lambda that applies the database migrations (run at deploy time)');
    out('ScheduleFunctionArn', this.schedules.function.functionArn, 'Target of EventBridge Scheduler schedules');
    out('SchedulerRoleArn', this.schedules.schedulerRole.roleArn, 'Role EventBridge Scheduler assumes to invoke the schedule function');
    out('ScheduleGroupName', this.schedules.group.ref, 'Schedule group of the platform\'s schedules');
    out('RunnerClusterName', this.runner.cluster.clusterName, 'ECS cluster of the runner');
    out('RunnerServiceName', this.runner.service.serviceName, 'ECS service of the runner');
    out('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
    out('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic of the alarms (add subscribers to it)');

    applyNagSuppressions(this, s);
  }
}
