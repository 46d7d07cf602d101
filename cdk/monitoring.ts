/**
 * Alarms (to an SNS topic, optionally e-mailed) and one dashboard:
 * - DLQ not empty, oldest task too old, runner errors (log lines at level
 *   "error"), API 5xx;
 * - queue depth, tasks done per minute, runners running, model 429s, the
 *   API's traffic and the database's capacity.
 * The runner writes one JSON object per log line (core/logger.ts), so the
 * metric filters match JSON fields.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Namespace of the metrics made from log lines: one per stack, so two stacks in an account keep theirs apart. */
export const metricNamespace = (stackName: string) => `Evalap/${stackName}`;

export interface MonitoringProps {
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  runnerLogs: logs.ILogGroup;
  runnerService: ecs.FargateService;
  runnerCluster: ecs.ICluster;
  runnerBacklog: cloudwatch.IMetric;
  httpApi: apigwv2.HttpApi;
  apiFunction: lambda.IFunction;
  scheduleFunction: lambda.IFunction;
  scheduleLogs: logs.ILogGroup;
  database: rds.DatabaseCluster;
  oldestMessageAlarmSec: number;
  alarmEmail?: string;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  readonly runnerErrors: cloudwatch.Metric;
  readonly modelThrottles: cloudwatch.Metric;

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
    // The runner logs model_throttled at debug level: LOG_LEVEL=debug, or an info-level event, is needed for this to count.
    const throttlesFilter = new logs.MetricFilter(this, 'ModelThrottlesFilter', {
      logGroup: props.runnerLogs,
      filterPattern: logs.FilterPattern.stringValue('$.event', '=', 'model_throttled'),
      metricNamespace: namespace,
      metricName: 'ModelThrottles',
      metricValue: '1',
    });
    this.modelThrottles = throttlesFilter.metric({ statistic: 'Sum', period: minute });
    // The schedule Lambda reports a run it could not launch (not implemented yet, bad event) without failing.
    const scheduleErrorsFilter = new logs.MetricFilter(this, 'ScheduleErrorsFilter', {
      logGroup: props.scheduleLogs,
      filterPattern: logs.FilterPattern.stringValue('$.level', '=', 'error'),
      metricNamespace: namespace,
      metricName: 'ScheduleErrors',
      metricValue: '1',
    });

    const alarm = (id: string, props: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      a.addAlarmAction(new cwActions.SnsAction(this.topic));
      this.alarms.push(a);
      return a;
    };
    alarm('DeadLetterQueueNotEmpty', {
      alarmDescription: 'Tasks failed maxReceiveCount times (or were unparseable) and sit in the dead-letter queue',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: minute }),
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
      alarmDescription: 'A scheduled run did not launch (the schedule Lambda failed or logged an error)',
      metric: new cloudwatch.MathExpression({
        label: 'Schedule errors',
        expression: 'FILL(failed, 0) + FILL(logged, 0)',
        usingMetrics: {
          failed: props.scheduleFunction.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
          logged: scheduleErrorsFilter.metric({ statistic: 'Sum', period: fiveMinutes }),
        },
        period: fiveMinutes,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
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
        title: 'Model 429s (needs model_throttled at info level)',
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
        right: [props.database.metricDatabaseConnections({ statistic: 'Maximum', period: minute, label: 'Connections' })],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Scaling backlog', left: [props.runnerBacklog], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'API Lambda',
        left: [
          props.apiFunction.metricInvocations({ statistic: 'Sum', period: minute }),
          props.apiFunction.metricErrors({ statistic: 'Sum', period: minute }),
          props.apiFunction.metricThrottles({ statistic: 'Sum', period: minute }),
        ],
        right: [props.apiFunction.metricDuration({ statistic: 'p99', period: minute })],
        width: 8,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8 }),
    );
  }
}
