/**
 * How the Lambdas' log lines look. Powertools Logger's own format
 * (`message`, upper-case `level`, `timestamp`) differs from the project's
 * (core/logger.ts: `time`, lower-case `level`, `event`), which the runner's
 * and local stack's lines, the metric filters and every reader of the logs
 * expect: one format everywhere, with Powertools' invocation fields added.
 */
import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';

type Attributes = Parameters<LogFormatter['formatAttributes']>[0];

export class EvalapLogFormatter extends LogFormatter {
  formatAttributes(attributes: Attributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        time: attributes.timestamp.toISOString(),
        level: attributes.logLevel.toLowerCase(),
        event: attributes.message,
        service: attributes.serviceName,
        cold_start: context?.coldStart,
        function_name: context?.functionName,
        function_request_id: context?.awsRequestId,
        xray_trace_id: attributes.xRayTraceId,
        // Only when sampling is on, so a line says whether its debug neighbours were sampled in.
        sampling_rate: attributes.sampleRateValue || undefined,
      },
    }).addAttributes(additional);
  }
}
