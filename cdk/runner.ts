/**
 * The runner: an ECS Fargate service (Graviton, ARM64) of the image built
 * from runner/Dockerfile, scaled on the queue's backlog by step scaling:
 * no task while the queue is empty, then ceil(backlog / backlogPerTask)
 * tasks, at most `maxTasks`. Backlog = messages visible + in flight, so
 * runners still working on their last messages are not scaled away, and no
 * CPU-based policy ever removes a busy runner.
 *
 * ECS stops a task with SIGTERM: the runner lets running tasks finish for
 * RUNNER_SHUTDOWN_GRACE_MS, hands the rest back to SQS and exits; the stop
 * timeout leaves it that long plus a margin before SIGKILL. While it holds
 * messages, the runner asks the ECS agent for scale-in protection
 * ($ECS_AGENT_URI/task-protection/v1/state), so scaling in stops idle
 * runners first:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html
 *
 * PostgreSQL: the runner's `pg` pool connects to the writer endpoint (PG*
 * variables, TLS verified against the Amazon RDS CAs the image carries) and
 * reads the password from DATABASE_SECRET_ARN through the SDK at run time,
 * so an RDS rotation of the password needs no restart.
 *
 * Network: in the public layout a task gets a public IPv4 address (its only
 * way out, no NAT gateway) and a security group that admits nothing inbound.
 */
import path from 'node:path';
import { Aws, Duration, IgnoreMode, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * The image's build context is the allow-list in .dockerignore, written there
 * only: `docker build` applies it, and DockerImageAsset reads the same file
 * when it stages the asset into cdk.out and hashes it ("the patterns found in
 * exclude are appended to the patterns found in .dockerignore", with Docker's
 * semantics by default in CDK v2: the `@aws-cdk/aws-ecr-assets:dockerIgnoreSupport`
 * flag; https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ecr_assets-readme.html).
 * Patterns here would apply to the asset alone, after the allow-list's `!`
 * lines: the asset would then differ from what `docker build` sends. None.
 */
export const IMAGE_EXCLUDES: readonly string[] = [];

/** Where and as whom the runner connects to PostgreSQL; the password is read from `secret` at run time. */
export interface RunnerDatabase {
  host: string;
  port: number;
  name: string;
  user: string;
  secret: secretsmanager.ISecret;
}

export interface RunnerProps {
  repoRoot: string;
  vpc: ec2.IVpc;
  subnets: ec2.SubnetSelection;
  /** A public IPv4 address per task (the public network layout: no NAT gateway). */
  assignPublicIp: boolean;
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  database: RunnerDatabase;
  providerKeys: secretsmanager.ISecret;
  providerKeyFields: readonly string[];
  providerKeyEncryption: kms.IKey;
  sharedEnvironment: Record<string, string>;
  cpu: number;
  memoryMiB: number;
  maxConcurrentTasks: number;
  workerThreads: number;
  visibilityTimeoutSec: number;
  shutdownGraceMs: number;
  stopTimeoutSec: number;
  minTasks: number;
  maxTasks: number;
  backlogPerTask: number;
  scaleInAfterMin: number;
  logRetention: logs.RetentionDays;
}

/** One step of the scale-out policy: from `lowerBacklog` messages (inclusive) on, run `tasks` tasks. */
export interface BacklogStep {
  lowerBacklog: number;
  upperBacklog?: number;
  tasks: number;
}

/**
 * The scale-out steps: tasks = ceil(backlog / perTask) for backlog >= 1, at
 * most `maxTasks`, in at most `maxSteps` steps (rounding tasks up when
 * several task counts share a step).
 */
export function backlogSteps(perTask: number, maxTasks: number, maxSteps = 10): BacklogStep[] {
  const n = Math.min(maxTasks, maxSteps);
  const caps = [...new Set(Array.from({ length: n }, (_, i) => Math.ceil(((i + 1) * maxTasks) / n)))];
  return caps.map((tasks, i) => {
    const prev = i === 0 ? 0 : caps[i - 1];
    return { lowerBacklog: prev * perTask + 1, ...(i < caps.length - 1 ? { upperBacklog: tasks * perTask } : {}), tasks };
  });
}

export class Runner extends Construct {
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly logGroup: logs.LogGroup;
  readonly securityGroup: ec2.SecurityGroup;
  readonly scalableTarget: appscaling.ScalableTarget;
  readonly backlog: cloudwatch.IMetric;

  constructor(scope: Construct, id: string, props: RunnerProps) {
    super(scope, id);
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      // Per-service metrics (RunningTaskCount); billed per metric only while tasks run.
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      // The runner's ZeroMQ ipc socket lives under /tmp; the root file system is read-only.
      volumes: [{ name: 'tmp' }],
    });
    // The context is the repository's root narrowed by .dockerignore (see IMAGE_EXCLUDES).
    const image = ecs.ContainerImage.fromAsset(props.repoRoot, {
      file: path.join('runner', 'Dockerfile'),
      platform: Platform.LINUX_ARM64,
      exclude: [...IMAGE_EXCLUDES],
      // .dockerignore's rules as docker reads them, not a CDK default that could change.
      ignoreMode: IgnoreMode.DOCKER,
    });
    // Provider keys only: the database password is read at run time (rotation without restart).
    const secrets: Record<string, ecs.Secret> = {};
    for (const field of props.providerKeyFields) secrets[field] = ecs.Secret.fromSecretsManager(props.providerKeys, field);
    this.container = this.taskDefinition.addContainer('runner', {
      image,
      essential: true,
      readonlyRootFilesystem: true,
      stopTimeout: Duration.seconds(props.stopTimeoutSec),
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'runner',
        // A CloudWatch Logs hiccup must never stall the runner.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      environment: {
        ...props.sharedEnvironment,
        AWS_REGION: Aws.REGION,
        QUEUE_URL: props.queue.queueUrl,
        DLQ_URL: props.deadLetterQueue.queueUrl,
        MAX_CONCURRENT_TASKS: String(props.maxConcurrentTasks),
        RUNNER_WORKER_THREADS: String(props.workerThreads),
        RUNNER_VISIBILITY_TIMEOUT_SEC: String(props.visibilityTimeoutSec),
        // Three beats may be missed before a message of a live runner shows again.
        RUNNER_HEARTBEAT_INTERVAL_MS: String(props.visibilityTimeoutSec * 250),
        RUNNER_SHUTDOWN_GRACE_MS: String(props.shutdownGraceMs),
        PGHOST: props.database.host,
        PGPORT: String(props.database.port),
        PGDATABASE: props.database.name,
        PGUSER: props.database.user,
        // PostgreSQL over TLS, checked against the Amazon RDS CAs the image carries (runner/Dockerfile).
        PGSSLMODE: 'verify-full',
        DATABASE_SECRET_ARN: props.database.secret.secretArn,
        EVALAP_KMS_KEY_ID: props.providerKeyEncryption.keyArn,
      },
      secrets,
    });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });

    // Task role: what the runner's code does. The execution role (image pull,
    // logs, the secrets above) is granted by ECS's constructs.
    const role = this.taskDefinition.taskRole;
    props.queue.grantConsumeMessages(role);
    // Answers enqueue their observations; fan-out tasks enqueue rows.
    props.queue.grantSendMessages(role);
    // Unparseable messages are set aside in the DLQ.
    props.deadLetterQueue.grantSendMessages(role);
    // Opens the provider keys sealed by the API.
    props.providerKeyEncryption.grant(role, 'kms:Decrypt');
    // The database password, read (and reread after a rotation) by the runner; its key is AWS managed.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DatabaseSecret', actions: ['secretsmanager:GetSecretValue'], resources: [props.database.secret.secretArn] }));
    // Scale-in protection through the ECS agent, for this cluster's tasks only. Both actions
    // take the task resource, arn:…:task/<cluster name>/<task id> (Service Authorization Reference, Amazon ECS:
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TaskScaleInProtection',
        actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
        resources: [this.cluster.arnForTasks('*')],
      }),
    );

    // No ingress rule: nothing reaches a runner, even at its public address.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Evalap runner: nothing inbound; out to PostgreSQL, AWS APIs and model APIs',
      allowAllOutbound: true,
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      // Autoscaling owns the count from here on (see README: a deploy resets it to this value).
      desiredCount: 0,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      assignPublicIp: props.assignPublicIp,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      circuitBreaker: { enable: true, rollback: true },
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    this.scalableTarget = new appscaling.ScalableTarget(this, 'TaskCount', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${this.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: props.minTasks,
      maxCapacity: props.maxTasks,
      // Application Auto Scaling's service-linked role for ECS (created by AWS on first use), as ECS's own constructs do.
      role: iam.Role.fromRoleArn(
        this,
        'ScalingRole',
        Stack.of(this).formatArn({
          region: '',
          service: 'iam',
          resource: 'role/aws-service-role/ecs.application-autoscaling.amazonaws.com',
          resourceName: 'AWSServiceRoleForApplicationAutoScaling_ECSService',
        }),
      ),
    });
    this.scalableTarget.node.addDependency(this.service);

    const period = Duration.minutes(1);
    this.backlog = new cloudwatch.MathExpression({
      label: 'Backlog (visible + in flight)',
      expression: 'visible + inflight',
      usingMetrics: {
        visible: props.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        inflight: props.queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: 'Maximum' }),
      },
      period,
    });

    // Scale out (and in, while work remains): the alarm stays in ALARM while
    // there is a backlog, and the policy sets the task count for its size.
    const scaleOut = new appscaling.StepScalingAction(this, 'ScaleOnBacklog', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.seconds(60),
    });
    // Bounds are relative to the alarm's threshold (1 message).
    for (const step of backlogSteps(props.backlogPerTask, props.maxTasks)) {
      scaleOut.addAdjustment({
        lowerBound: step.lowerBacklog - 1,
        ...(step.upperBacklog !== undefined ? { upperBound: step.upperBacklog } : {}),
        adjustment: Math.max(step.tasks, props.minTasks),
      });
    }
    const backlogAlarm = new cloudwatch.Alarm(this, 'BacklogAlarm', {
      alarmDescription: 'Runner scaling: the tasks queue has work (visible or in flight)',
      metric: this.backlog,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    backlogAlarm.addAlarmAction(new cwActions.ApplicationScalingAction(scaleOut));

    // Scale to the minimum (0) once the queue has been empty for a while.
    const scaleIn = new appscaling.StepScalingAction(this, 'ScaleInWhenEmpty', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.seconds(60),
    });
    scaleIn.addAdjustment({ upperBound: 0, adjustment: props.minTasks });
    const emptyAlarm = new cloudwatch.Alarm(this, 'QueueEmptyAlarm', {
      alarmDescription: `Runner scaling: the tasks queue has been empty for ${props.scaleInAfterMin} minutes`,
      metric: this.backlog,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: props.scaleInAfterMin,
      datapointsToAlarm: props.scaleInAfterMin,
      // SQS stops publishing for a queue idle for hours: no data means no work.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    emptyAlarm.addAlarmAction(new cwActions.ApplicationScalingAction(scaleIn));
  }
}
