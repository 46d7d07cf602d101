/**
 * The API Lambda: one handler serves every route. Locally the same handler
 * runs behind local/http-server.ts.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { apiKeySource, type ApiKeySource } from '../../core/api-keys.js';
import { loadConfig, type Config } from '../../core/config.js';
import { createCoreContext, processSecrets, type CoreContext } from '../../core/context.js';
import { health } from '../../core/health.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { invocationContext } from '../observability/invocation.js';
import { lambdaLogger } from '../observability/logger.js';
import { authMiddleware, isAuthenticated } from './auth.js';
import { datasetRoutes } from './datasets.js';
import { experimentSetRoutes } from './experiment-sets.js';
import { experimentRoutes } from './experiments.js';
import { problem, type Route } from './http.js';
import { metricRoutes } from './metrics.js';
import { opsRoutes } from './ops.js';
import { scheduleRoutes } from './schedules.js';
import { bodyLimit, errorsAndAccessLog } from './middleware.js';
import { openApiDocument } from './openapi.js';
import { createRouter } from './router.js';

export interface ApiOptions {
  config: Config;
  /** The core to use; built from config on first request otherwise. */
  core?: CoreContext;
  /** Where API keys come from (default: the configuration's). */
  keys?: ApiKeySource;
  /** More health checks (the local stack adds the runner's). */
  healthChecks?: Record<string, () => Promise<unknown>>;
  /** The logger of the core built on first request (the Lambda's: Powertools); ignored with `core`. */
  logger?: Logger;
  /** Middlewares run first, around everything else (the Lambda's invocation context). */
  outermost?: middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>[];
}

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export const resourceRoutes: readonly Route[] = [...datasetRoutes, ...experimentRoutes, ...experimentSetRoutes, ...metricRoutes, ...opsRoutes, ...scheduleRoutes];

/**
 * The API. Nothing here connects to anything when built: the core (and with
 * it the database client) is made on the first request that needs it, inside
 * middy, so a failure there (a secret that cannot be read, a database that
 * is resuming or unreachable) is a problem+json answer (503 with Retry-After
 * for what passes), never an error thrown past the handler.
 */
export function createApiHandler(options: ApiOptions): ApiHandler {
  let core = options.core;
  const getCore = () => (core ??= createCoreContext(options.config, options.logger ? { logger: options.logger } : {}));
  let openapi: unknown;
  const routes: Route[] = [
    ...resourceRoutes,
    {
      method: 'GET',
      path: '/v1/openapi.json',
      summary: 'This API\'s OpenAPI 3.1 description',
      run: async () => ({ body: (openapi ??= openApiDocument(routes)) }),
    },
    {
      method: 'GET',
      path: '/openapi.json',
      summary: 'The same, at the path Evalap serves it',
      run: async () => ({ body: (openapi ??= openApiDocument(routes)) }),
    },
    {
      method: 'GET',
      path: '/health',
      summary: 'Without a key: whether the API process answers (touching nothing else). With a key (or on an open API): whether every part answers, 200 when all are up, 503 otherwise',
      async run({ authenticated, core }) {
        if (!authenticated) return { body: { status: 'ok', checks: { api: { ok: true, ms: 0 } }, detail: 'the API process answers; send an API key for the database and queue checks' } };
        const result = await health(core, options.healthChecks);
        return { status: result.status === 'ok' ? 200 : 503, body: result };
      },
    },
  ];
  const logger = options.core?.logger ?? options.logger ?? createLogger({ level: options.config.LOG_LEVEL });
  const keys = options.keys ?? apiKeySource(options.config, () => processSecrets(options.config));
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(options.outermost ?? [])
    .use(errorsAndAccessLog(logger))
    .use(bodyLimit(options.config.EVALAP_MAX_BODY_BYTES))
    .use(authMiddleware(keys))
    .handler(createRouter(routes, getCore, isAuthenticated, options.config.EVALAP_MAX_RESPONSE_BYTES) as never) as unknown as ApiHandler;
}

/**
 * The API as the Lambda runs it: logging through Powertools Logger, each
 * line carrying the invocation's context and API Gateway's request id as
 * correlation id (the path Powertools names API_GATEWAY_HTTP in
 * node_modules/@aws-lambda-powertools/logger/lib/esm/correlationId.js).
 */
export function apiLambda(config: Config): ApiHandler {
  const { logger, powertools } = lambdaLogger(config);
  return createApiHandler({ config, logger, outermost: [invocationContext(powertools, 'requestContext.requestId')] });
}

let api: ApiHandler | undefined;

/**
 * The Lambda entry point. Configuration is read on the first invocation; a
 * wrong configuration is answered (500, logged), not thrown, so the client
 * gets a problem document rather than API Gateway's bare error. Migrations
 * run at deploy time (functions/migrate), never here.
 */
export const handler: ApiHandler = async (event, context) => {
  try {
    api ??= apiLambda(loadConfig());
  } catch (err) {
    createLogger({ level: 'error' }).error('api_misconfigured', { error: (err as Error).message });
    return problem(err, event.requestContext?.http?.path ?? '');
  }
  return api(event, context);
};
