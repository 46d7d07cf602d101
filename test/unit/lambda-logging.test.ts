/**
 * The Lambdas' logging (functions/observability/): the project's line format
 * through Powertools Logger, with the invocation's context and correlation
 * id on every line, debug sampling, and no secret in any line, the event's
 * included.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { loadConfig } from '../../core/config.js';
import { apiLambda } from '../../functions/api/handler.js';
import { invocationContext } from '../../functions/observability/invocation.js';
import { lambdaLogger } from '../../functions/observability/logger.js';
import { printedLines } from '../support/stdout.js';

const USER_KEY = 'user-key-aaaaaaaaaaaaaaaa';
const WRONG_KEY = 'wrong-key-zzzzzzzzzzzzzzzz';

const context = (awsRequestId: string) =>
  ({ awsRequestId, functionName: 'evalap-api', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:eu-west-3:123456789012:function:evalap-api', memoryLimitInMB: '1024' }) as Context;

const request = (requestId?: string): APIGatewayProxyEventV2 => ({
  version: '2.0',
  routeKey: '$default',
  rawPath: '/v1/datasets',
  rawQueryString: '',
  headers: { authorization: `Bearer ${WRONG_KEY}` },
  requestContext: { ...(requestId ? { requestId } : {}), http: { method: 'GET', path: '/v1/datasets', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' } } as APIGatewayProxyEventV2['requestContext'],
  isBase64Encoded: false,
});

describe('the API Lambda\'s log lines', () => {
  // As Lambda sets them: on-demand initialization (how Powertools tells a cold start), and the
  // switch that makes Powertools log whole events (headers and keys included), which must not take effect.
  const env = { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', POWERTOOLS_LOGGER_LOG_EVENT: 'true' };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  beforeAll(() => Object.assign(process.env, env));
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('keep the project\'s format and carry the request id, cold start, function and API Gateway\'s request id', async () => {
    const api = apiLambda(loadConfig({ EVALAP_API_KEYS: USER_KEY, QUEUE_URL: 'http://127.0.0.1:1/q', DATABASE_URL: 'postgresql://127.0.0.1:1/none' }));
    const { lines, raw } = await printedLines(async () => {
      expect((await api(request('req-1'), context('aws-1'))).statusCode).toBe(401);
      expect((await api(request('req-2'), context('aws-2'))).statusCode).toBe(401);
      expect((await api(request(), context('aws-3'))).statusCode).toBe(401);
    });
    expect(lines).toHaveLength(3);
    const [first, second, third] = lines;
    expect(Object.keys(first).slice(0, 3)).toEqual(['time', 'level', 'event']);
    expect(first).toMatchObject({ level: 'info', event: 'request_handled', status: 401, path: '/v1/datasets', service: 'evalap' });
    expect(first).toMatchObject({ function_request_id: 'aws-1', function_name: 'evalap-api', cold_start: true, correlation_id: 'req-1' });
    expect(second).toMatchObject({ function_request_id: 'aws-2', cold_start: false, correlation_id: 'req-2' });
    // An invocation never inherits the previous one's correlation id.
    expect(third).toMatchObject({ function_request_id: 'aws-3' });
    expect(third.correlation_id).toBeUndefined();
    expect(raw).not.toContain(WRONG_KEY);
    expect(raw).not.toContain('authorization');
  });
});

describe('debug sampling', () => {
  const probe = (sampleRate: string) => {
    const { logger, powertools } = lambdaLogger(loadConfig({ LOG_LEVEL: 'info', POWERTOOLS_LOGGER_SAMPLE_RATE: sampleRate }));
    return middy(async () => logger.debug('probe_logged', { password: USER_KEY })).use(invocationContext(powertools));
  };

  it('logs the debug lines of every invocation at rate 1, redacted, whatever LOG_LEVEL says', async () => {
    const { lines, raw } = await printedLines(async () => {
      const handler = probe('1');
      await handler({}, context('aws-1'));
      await handler({}, context('aws-2'));
    });
    expect(lines.filter((l) => l.event === 'probe_logged')).toEqual([
      expect.objectContaining({ level: 'debug', function_request_id: 'aws-1', sampling_rate: 1, password: '[redacted]' }),
      expect.objectContaining({ level: 'debug', function_request_id: 'aws-2', sampling_rate: 1 }),
    ]);
    expect(raw).not.toContain(USER_KEY);
  });

  it('logs none at rate 0 with LOG_LEVEL=info', async () => {
    const { lines } = await printedLines(async () => {
      const handler = probe('0');
      await handler({}, context('aws-1'));
      await handler({}, context('aws-2'));
    });
    expect(lines).toEqual([]);
  });
});

describe('POWERTOOLS_LOGGER_SAMPLE_RATE', () => {
  it.each(['-0.1', '1.5', 'often'])('rejects %s, naming the variable', (value) => {
    expect(() => loadConfig({ POWERTOOLS_LOGGER_SAMPLE_RATE: value })).toThrow(/POWERTOOLS_LOGGER_SAMPLE_RATE/);
  });
});
