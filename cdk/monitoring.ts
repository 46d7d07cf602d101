/**
 * Alarms, all to one SNS topic (always created; e-mailed with `alarmEmail`,
 * other subscribers are added to the topic, README.md "Operations"), and one
 * dashboard:
 * - work: tasks DLQ not empty, oldest task too old, runner errors (log
 *   lines at level "error"), runner tasks that fail to start, scheduled runs
 *   that failed every attempt (their DLQ) or did not launch (a metric the
 *   schedule Lambda emits);
 * - each Lambda (API, schedule, migrations): errors, throttles, p99
 *   duration near its timeout; the API's 5xx;
 * - Aurora: capacity pinned at its maximum, connections near max_connections.
 * The runner writes one JSON object per log line (core/logger.ts), so the
 * metric filters match JSON fields. The runner's metrics stay metric filters:
 * RunnerErrors counts every line at level "error" whichever code wrote it,
 * which is what a filter on the log level does, and ModelThrottles counts a
 * line the runner writes anyway. The schedule Lambda instead emits its
 * metric itself in the embedded metric format (Powertools Metrics), which
 * CloudWatch Logs extracts from its log lines:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format.html
 *
 * Runner tasks that fail to start (image pull, secrets, no capacity, ENI…)
 * are caught by an EventBridge rule on ECS "Task State Change" events with
 * stopCode TaskFailedToStart, sent straight to the topic with ECS's
 * stoppedReason. No CloudWatch metric counts them (the service's
 * RunningTaskCount stays 0 just as when there is no work, and the deployment
 * circuit breaker covers deployments only), while ECS emits one event per
 * failed task, delivered at least once:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Namespace of the stack's own metrics (the runner's metric filters, the Lambdas' EMF): one per stack, so two stacks in an account keep theirs apart. */
export const metricNamespace = (stackName: string) => `Evalap/${stackName}`;

/** A Lambda whose errors, throttles and duration are watched. */
export interface WatchedFunction {
  /** Alarm id prefix and label: "Api", "Schedule", "Migrate". */
  name: string;
  function: lambda.IFunction;
  timeout: Duration;
}

export interface MonitoringProps {
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  scheduleDeadLetterQueue: sqs.IQueue;
  runnerLogs: logs.ILogGroup;
  runnerService: ecs.FargateService;
  runnerCluster: ecs.ICluster;
  runnerBacklog: cloudwatch.IMetric;
  httpApi: apigwv2.HttpApi;
  functions: WatchedFunction[];
  /** Runs the schedule Lambda could not launch: its own metric (EMF, cdk/schedules.ts), Sum per 5 minutes. */
  scheduleErrors: cloudwatch.Metric;
  database: rds.DatabaseCluster;
  databaseMaxCapacity: number;
  databaseMaxConnections: number;
  oldestMessageAlarmSec: number;
  alarmEmail?: string;
}

/** Fraction of a function's timeout at which its p99 duration alarms. */
export const DURATION_ALARM_FRACTION = 0.8;
/** Fraction of max_connections at which the connections alarm fires. */
export const CONNECTIONS_ALARM_FRACTION = 0.8;

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  readonly runnerErrors: cloudwatch.Metric;
  readonly modelThrottles: cloudwatch.Metric;
  readonly runnerFailedToStart: events.Rule;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Evalap alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const minute = Duration.minutes(1);
    const namespace = metricNamespace(Stack.of(this).stackName);
    const fiveMinutes = Duration.minutes(5);

    const runnerErrorsFilter = new logs.MetricFilter(this, 'RunnerErrorsFilter', {
      logGroup: props.runnerLogs,
      filterPattern: logs.FilterPattern.stringValue('$.level', '=', 'error'),
      metricNamespace: namespace,
      metricName: 'RunnerErrors',
      metricValue: '1',
    });
    this.runnerErrors = runnerErrorsFilter.metric({ statistic: 'Sum', period: fiveMinutes });
    // One model_throttled line (info level) per refusal the runner got: 429s and 503/529 overloads.
    const throttlesFilter = new logs.MetricFilter(this, 'ModelThrottlesFilter', {
      logGroup: props.runnerLogs,
      filterPattern: logs.FilterPattern.stringValue('$.event', '=', 'model_throttled'),
      metricNamespace: namespace,
      metricName: 'ModelThrottles',
      metricValue: '1',
    });
    this.modelThrottles = throttlesFilter.metric({ statistic: 'Sum', period: minute });

    const alarm = (id: string, props: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      a.addAlarmAction(new cwActions.SnsAction(this.topic));
      this.alarms.push(a);
      return a;
    };
    alarm('DeadLetterQueueNotEmpty', {
      alarmDescription: 'Tasks failed maxReceiveCount times (or were unparseable) and sit in the dead-letter queue',
      // The runners' sweeper records dead letters as failed and keeps them out of sight for 12 h: count those too.
      metric: new cloudwatch.MathExpression({
        expression: 'visible + hidden',
        label: 'Dead letters',
        period: minute,
        usingMetrics: {
          visible: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute }),
          hidden: props.deadLetterQueue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: minute }),
        },
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('OldestTaskTooOld', {
      alarmDescription: `The oldest queued task is older than ${props.oldestMessageAlarmSec} s: runners are not keeping up, or cannot start`,
      metric: props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: fiveMinutes }),
      threshold: props.oldestMessageAlarmSec,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('RunnerErrors', {
      alarmDescription: 'The runner logged errors ("level":"error") in the last 5 minutes',
      metric: this.runnerErrors,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('Api5xx', {
      alarmDescription: 'The API answered 5 or more 5xx in 5 minutes',
      metric: props.httpApi.metricServerError({ statistic: 'Sum', period: fiveMinutes }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('ScheduleErrors', {
      alarmDescription: 'A scheduled run did not launch (bad event, unknown schedule, failed launch): the schedule Lambda counted it',
      // The Lambda reports such a run without failing, so its Errors metric does not see it.
      metric: props.scheduleErrors,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('ScheduleFailuresQueued', {
      alarmDescription: 'A scheduled run failed every attempt: its record is in the schedule dead-letter queue',
      metric: props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    for (const watched of props.functions) {
      const fn = watched.function;
      alarm(`${watched.name}FunctionErrors`, {
        alarmDescription: `The ${watched.name} Lambda failed (unhandled error or timeout) in the last 5 minutes`,
        metric: fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(`${watched.name}FunctionThrottles`, {
        alarmDescription: `The ${watched.name} Lambda was throttled (concurrency limit) in the last 5 minutes`,
        metric: fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      const limitMs = Math.round(watched.timeout.toMilliseconds() * DURATION_ALARM_FRACTION);
      alarm(`${watched.name}FunctionDurationNearTimeout`, {
        alarmDescription: `The ${watched.name} Lambda's p99 duration reached ${limitMs} ms, ${DURATION_ALARM_FRACTION * 100}% of its ${watched.timeout.toSeconds()} s timeout`,
        metric: fn.metricDuration({ statistic: 'p99', period: fiveMinutes }),
        threshold: limitMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    alarm('DatabaseAtMaxCapacity', {
      alarmDescription: `Aurora has run at its maximum of ${props.databaseMaxCapacity} ACUs for 15 minutes: raise auroraMaxCapacity, or slow the runners`,
      metric: props.database.metric('ServerlessDatabaseCapacity', { statistic: 'Maximum', period: fiveMinutes }),
      threshold: props.databaseMaxCapacity,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    });
    const connectionsLimit = Math.floor(props.databaseMaxConnections * CONNECTIONS_ALARM_FRACTION);
    alarm('DatabaseConnectionsNearLimit', {
      alarmDescription: `PostgreSQL connections reached ${connectionsLimit}, ${CONNECTIONS_ALARM_FRACTION * 100}% of max_connections (${props.databaseMaxConnections} at ${props.databaseMaxCapacity} ACUs): fewer runners, a smaller pool, or a larger auroraMaxCapacity`,
      metric: props.database.metricDatabaseConnections({ statistic: 'Maximum', period: fiveMinutes }),
      threshold: connectionsLimit,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.runnerFailedToStart = new events.Rule(this, 'RunnerFailedToStart', {
      description: 'Evalap: a runner task failed to start (ECS stopCode TaskFailedToStart) -> the alarms topic',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: { clusterArn: [props.runnerCluster.clusterArn], lastStatus: ['STOPPED'], stopCode: ['TaskFailedToStart'] },
      },
      targets: [
        new targets.SnsTopic(this.topic, {
          message: events.RuleTargetInput.fromText(
            `Evalap runner task failed to start: ${events.EventField.fromPath('$.detail.stoppedReason')} (task ${events.EventField.fromPath('$.detail.taskArn')}, at ${events.EventField.time})`,
          ),
        }),
      ],
    });

    const runningTasks = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: props.runnerCluster.clusterName, ServiceName: props.runnerService.serviceName },
      statistic: 'Maximum',
      period: minute,
      label: 'Running runner tasks',
    });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute, label: 'Waiting' }),
          props.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: minute, label: 'In flight' }),
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute, label: 'Dead letters' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Tasks done per minute',
        left: [props.queue.metricNumberOfMessagesDeleted({ statistic: 'Sum', period: minute, label: 'Tasks done' })],
        right: [props.queue.metricNumberOfMessagesSent({ statistic: 'Sum', period: minute, label: 'Tasks enqueued' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Runners',
        left: [runningTasks],
        right: [props.runnerService.metricCpuUtilization({ statistic: 'Average', period: minute, label: 'CPU %' })],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Model refusals (429s and 503/529 overloads)',
        left: [this.modelThrottles.with({ label: 'Throttled model calls' })],
        right: [runnerErrorsFilter.metric({ statistic: 'Sum', period: minute, label: 'Runner errors' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API',
        left: [
          props.httpApi.metricCount({ statistic: 'Sum', period: minute, label: 'Requests' }),
          props.httpApi.metricClientError({ statistic: 'Sum', period: minute, label: '4xx' }),
          props.httpApi.metricServerError({ statistic: 'Sum', period: minute, label: '5xx' }),
        ],
        right: [props.httpApi.metricLatency({ statistic: 'p99', period: minute, label: 'Latency p99 (ms)' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Database',
        left: [props.database.metric('ServerlessDatabaseCapacity', { statistic: 'Maximum', period: minute, label: 'ACUs' })],
        leftAnnotations: [{ value: props.databaseMaxCapacity, label: 'max ACUs' }],
        right: [props.database.metricDatabaseConnections({ statistic: 'Maximum', period: minute, label: 'Connections' })],
        rightAnnotations: [{ value: props.databaseMaxConnections, label: 'max_connections' }],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Scaling backlog', left: [props.runnerBacklog], width: 8 }),
      ...props.functions.map(
        ({ name, function: fn }) =>
          new cloudwatch.GraphWidget({
            title: `${name} Lambda`,
            left: [
              fn.metricInvocations({ statistic: 'Sum', period: minute }),
              fn.metricErrors({ statistic: 'Sum', period: minute }),
              fn.metricThrottles({ statistic: 'Sum', period: minute }),
            ],
            right: [fn.metricDuration({ statistic: 'p99', period: minute })],
            width: 8,
          }),
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Failed scheduled runs',
        left: [props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute, label: 'In the schedule DLQ' })],
        right: [props.scheduleErrors.with({ period: minute, label: 'Runs not launched' })],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 16 }),
    );
  }
}
