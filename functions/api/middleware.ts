/** The API's cross-cutting middlewares: body limit, access log, problem+json errors. */
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Logger } from '../../core/logger.js';
import { tooLarge } from './http.js';
import { problem } from './http.js';

type Mw = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/** Refuses bodies above `limit` bytes before anything parses them. */
export function bodyLimit(limit: number): Mw {
  return {
    before: function bodyLimitBefore(request) {
      const body = request.event.body;
      if (!body) return;
      const bytes = request.event.isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
      if (bytes > limit) throw tooLarge(limit, request.event.requestContext?.http?.path ?? '');
    },
  };
}

/**
 * Turns every error into a problem+json response, and logs each request
 * (method, path, status, duration; never headers or bodies, which carry keys).
 */
export function errorsAndAccessLog(logger: Logger): Mw {
  const startTimes = new WeakMap<object, number>();
  const log = (request: middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>) => {
    const http = request.event.requestContext?.http;
    const status = request.response?.statusCode ?? 500;
    const fields = { method: http?.method, path: http?.path, status, ms: Math.round(performance.now() - (startTimes.get(request) ?? performance.now())) };
    const err = request.error as (Error & { cause?: { name?: string; code?: string; message?: string } }) | null | undefined;
    // The cause of a 503 (which database or secret error) is for the operator, never the client.
    const cause = err?.cause ? { name: err.cause.name, code: err.cause.code, message: err.cause.message } : undefined;
    if (status >= 500) logger.error('request_failed', { ...fields, error: err ? { name: err.name, message: err.message, stack: err.stack, cause } : undefined });
    else logger.info('request_handled', fields);
  };
  return {
    before: function accessLogBefore(request) {
      startTimes.set(request, performance.now());
    },
    after: function accessLogAfter(request) {
      log(request);
    },
    onError: function problemOnError(request) {
      request.response = problem(request.error, request.event.requestContext?.http?.path ?? '');
      log(request);
    },
  };
}
