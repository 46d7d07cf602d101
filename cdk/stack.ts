/**
 * The whole platform in one stack: network, queue, database, secrets, the
 * API, the runner, scheduled runs and their monitoring. Environment-agnostic
 * (no account or region at synth, no look-ups): `cdk synth` runs offline.
 */
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Api } from './api.js';
import { Database } from './database.js';
import { Monitoring } from './monitoring.js';
import { Network } from './network.js';
import { applyNagSuppressions } from './nag.js';
import { TasksQueue } from './queue.js';
import { Runner } from './runner.js';
import { Schedules } from './schedules.js';
import { AppSecrets, PROVIDER_KEY_FIELDS } from './secrets.js';
import { runnerSize, stopTimeoutSec, type Settings } from './settings.js';

export interface EvalapStackProps extends StackProps {
  /** The repository's root: sources of the Lambdas and the runner image. */
  repoRoot: string;
  settings: Settings;
}

export class EvalapStack extends Stack {
  readonly network: Network;
  readonly tasks: TasksQueue;
  readonly secrets: AppSecrets;
  readonly database: Database;
  readonly api: Api;
  readonly runner: Runner;
  readonly schedules: Schedules;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: EvalapStackProps) {
    super(scope, id, { description: 'Evalap: LLM evaluation platform (API, queue, runner, database)', ...props });
    const s = props.settings;
    const logRetention = Number(s.logRetentionDays) as logs.RetentionDays;
    Tags.of(this).add('project', 'evalap');

    this.network = new Network(this, 'Network', { natGateways: s.natGateways, interfaceEndpoints: s.interfaceEndpoints, logRetention });
    const { vpc, appSubnets } = this.network;
    this.tasks = new TasksQueue(this, 'Tasks', {
      maxReceiveCount: s.maxReceiveCount,
      visibilityTimeoutSec: s.visibilityTimeoutSec,
      dlqRetentionDays: s.dlqRetentionDays,
    });
    this.secrets = new AppSecrets(this, 'Secrets');
    this.database = new Database(this, 'Database', {
      vpc,
      subnets: this.network.dataSubnets,
      rotationSubnets: appSubnets,
      minCapacity: s.auroraMinCapacity,
      maxCapacity: s.auroraMaxCapacity,
      autoPauseMin: s.auroraAutoPauseMin,
      backupRetentionDays: s.backupRetentionDays,
      deletionProtection: s.deletionProtection,
      logRetention,
    });

    const sharedEnvironment: Record<string, string> = {
      LOG_LEVEL: s.logLevel,
      ...(s.judgeModel ? { EVALAP_JUDGE_MODEL: s.judgeModel } : {}),
      ...(s.judgeBaseUrl ? { EVALAP_JUDGE_BASE_URL: s.judgeBaseUrl } : {}),
    };
    this.schedules = new Schedules(this, 'Schedules', {
      repoRoot: props.repoRoot,
      vpc,
      subnets: appSubnets,
      queue: this.tasks.queue,
      databaseSecret: this.database.secret,
      providerKeyEncryption: this.secrets.providerKeyEncryption,
      sharedEnvironment,
      logRetention,
    });

    this.api = new Api(this, 'Api', {
      repoRoot: props.repoRoot,
      vpc,
      subnets: appSubnets,
      queue: this.tasks.queue,
      databaseSecret: this.database.secret,
      apiKeys: this.secrets.apiKeys,
      providerKeyEncryption: this.secrets.providerKeyEncryption,
      sharedEnvironment,
      memoryMiB: s.apiMemoryMiB,
      reservedConcurrency: s.apiReservedConcurrency,
      throttle: { rateLimit: s.apiThrottleRate, burstLimit: s.apiThrottleBurst },
      logRetention,
    });
    // The API creates, updates and deletes the EventBridge schedule of each Evalap schedule.
    for (const [name, value] of Object.entries(this.schedules.grantManagement(this.api.function))) this.api.function.addEnvironment(name, value);

    const size = runnerSize(s);
    this.runner = new Runner(this, 'Runner', {
      repoRoot: props.repoRoot,
      vpc,
      subnets: appSubnets,
      queue: this.tasks.queue,
      deadLetterQueue: this.tasks.deadLetterQueue,
      databaseSecret: this.database.secret,
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

    this.database.allowFrom(this.api.securityGroup, 'API Lambda');
    this.database.allowFrom(this.runner.securityGroup, 'Runner');
    this.database.allowFrom(this.schedules.securityGroup, 'Schedule Lambda');

    this.monitoring = new Monitoring(this, 'Monitoring', {
      queue: this.tasks.queue,
      deadLetterQueue: this.tasks.deadLetterQueue,
      runnerLogs: this.runner.logGroup,
      runnerService: this.runner.service,
      runnerCluster: this.runner.cluster,
      runnerBacklog: this.runner.backlog,
      httpApi: this.api.httpApi,
      apiFunction: this.api.function,
      scheduleFunction: this.schedules.function,
      scheduleLogs: this.schedules.logGroup,
      database: this.database.cluster,
      oldestMessageAlarmSec: s.oldestMessageAlarmSec,
      alarmEmail: s.alarmEmail,
    });

    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    out('ApiUrl', this.api.stage.url, 'Base URL of the Evalap API');
    out('QueueUrl', this.tasks.queue.queueUrl, 'URL of the tasks queue');
    out('DeadLetterQueueUrl', this.tasks.deadLetterQueue.queueUrl, 'URL of the dead-letter queue');
    out('DatabaseEndpoint', this.database.cluster.clusterEndpoint.socketAddress, 'Aurora PostgreSQL writer endpoint (host:port), reachable inside the VPC only');
    out('DatabaseSecretArn', this.database.secret.secretArn, 'Secret with the database credentials (rotated every 30 days)');
    out('ApiKeysSecretName', this.secrets.apiKeys.secretName, 'Secret with EVALAP_API_KEYS and EVALAP_ADMIN_KEY');
    out('ProviderKeysSecretName', this.secrets.providerKeys.secretName, 'Secret with the provider keys the runner uses (EVALAP_JUDGE_API_KEY)');
    out('ProviderKeyEncryptionKeyArn', this.secrets.providerKeyEncryption.keyArn, 'KMS key sealing the provider keys stored with experiments');
    out('ScheduleFunctionArn', this.schedules.function.functionArn, 'Target of EventBridge Scheduler schedules');
    out('SchedulerRoleArn', this.schedules.schedulerRole.roleArn, 'Role EventBridge Scheduler assumes to invoke the schedule function');
    out('ScheduleGroupName', this.schedules.group.ref, 'Schedule group of the platform\'s schedules');
    out('RunnerClusterName', this.runner.cluster.clusterName, 'ECS cluster of the runner');
    out('RunnerServiceName', this.runner.service.serviceName, 'ECS service of the runner');
    out('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
    out('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic of the alarms');

    applyNagSuppressions(this, s);
  }
}
