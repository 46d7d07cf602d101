/**
 * The middy middleware every Lambda handler starts with: for the length of
 * an invocation, every line its logger writes carries the Lambda context
 * (function_request_id, cold_start, function_name) and a correlation id read
 * from the event at `correlationIdPath` (if the event has one); debug sampling is drawn again for
 * each warm invocation. The event itself is never logged (`logEvent: false`
 * overrides POWERTOOLS_LOGGER_LOG_EVENT): the API's carries the caller's key
 * in its headers. `resetKeys` drops the correlation id after the invocation,
 * so the next one cannot inherit it.
 * Options: node_modules/@aws-lambda-powertools/logger/lib/esm/middleware/middy.js
 */
import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type middy from '@middy/core';

export function invocationContext<TEvent = unknown, TResult = unknown>(powertools: PowertoolsLogger, correlationIdPath?: string): middy.MiddlewareObj<TEvent, TResult> {
  return injectLambdaContext(powertools, { correlationIdPath, logEvent: false, resetKeys: true }) as middy.MiddlewareObj<TEvent, TResult>;
}
