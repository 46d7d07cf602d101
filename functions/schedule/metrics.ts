/**
 * The schedule Lambda's custom metric, in CloudWatch's embedded metric
 * format (EMF) through Powertools Metrics: a JSON line in the function's log
 * that CloudWatch turns into a metric, no metric filter needed. An
 * invocation counts 1 if its run did not launch (bad event, unknown
 * schedule, misconfiguration, a failed or thrown launch), and prints nothing
 * otherwise: as with the metric filter it replaces, the custom metric (and
 * its monthly charge) exists only while runs fail. cdk/monitoring.ts alarms
 * on it: namespace
 * POWERTOOLS_METRICS_NAMESPACE, dimension `service` = POWERTOOLS_SERVICE_NAME.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/metrics/
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { Config } from '../../core/config.js';

export const SCHEDULE_ERRORS = 'ScheduleErrors';

/** What the handler records. */
export interface ScheduleMetrics {
  addMetric(name: typeof SCHEDULE_ERRORS, unit: typeof MetricUnit.Count, value: number): void;
}

export function scheduleMetrics(config: Pick<Config, 'POWERTOOLS_METRICS_NAMESPACE' | 'POWERTOOLS_SERVICE_NAME'>): Metrics {
  return new Metrics({ namespace: config.POWERTOOLS_METRICS_NAMESPACE, serviceName: config.POWERTOOLS_SERVICE_NAME });
}

/** Counts this invocation's run if it failed to launch. */
export function recordOutcome(metrics: ScheduleMetrics | undefined, failed: boolean): void {
  if (failed) metrics?.addMetric(SCHEDULE_ERRORS, MetricUnit.Count, 1);
}

/**
 * Prints the invocation's metrics (one EMF line) when it ends, thrown or
 * not, as Powertools' `logMetrics` middleware does, but silently when there
 * are none (a launched run), where `logMetrics` would warn on every tick.
 */
export function publishMetrics(metrics: Metrics): middy.MiddlewareObj {
  const publish = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}
