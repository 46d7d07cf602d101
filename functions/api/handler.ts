/**
 * The API Lambda: one handler serves every route. Locally the same handler
 * runs behind local/http-server.ts.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { apiKeys, loadConfig, type Config } from '../../core/config.js';
import { createCore, type Core } from '../../core/context.js';
import { migrate } from '../../core/store/migrate.js';
import { withAwsSecrets } from '../../core/secret-env.js';
import { health } from '../../core/health.js';
import { createLogger } from '../../core/logger.js';
import { authMiddleware } from './auth.js';
import { datasetRoutes } from './datasets.js';
import { experimentSetRoutes } from './experiment-sets.js';
import { experimentRoutes } from './experiments.js';
import type { Route } from './http.js';
import { metricRoutes } from './metrics.js';
import { scheduleRoutes } from './schedules.js';
import { bodyLimit, errorsAndAccessLog } from './middleware.js';
import { openApiDocument } from './openapi.js';
import { createRouter } from './router.js';

export interface ApiOptions {
  config: Config;
  /** The core to use; built from config on first request otherwise. */
  core?: Core;
  /** More health checks (the local stack adds the runner's). */
  healthChecks?: Record<string, () => Promise<unknown>>;
}

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export const resourceRoutes: readonly Route[] = [...datasetRoutes, ...experimentRoutes, ...experimentSetRoutes, ...metricRoutes, ...scheduleRoutes];

export function createApiHandler(options: ApiOptions): ApiHandler {
  let core = options.core;
  const getCore = () => (core ??= createCore(options.config));
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
      path: '/health',
      summary: 'Whether every part answers: 200 when all are up, 503 otherwise',
      async run({ core }) {
        const result = await health(core, options.healthChecks);
        return { status: result.status === 'ok' ? 200 : 503, body: result };
      },
    },
  ];
  const keys = apiKeys(options.config);
  const logger = options.core?.logger ?? createLogger({ level: options.config.LOG_LEVEL });
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(errorsAndAccessLog(logger))
    .use(bodyLimit(options.config.EVALAP_MAX_BODY_BYTES))
    .use(authMiddleware({ userKeys: keys.user, adminKey: keys.admin }))
    .handler(createRouter(routes, getCore) as never) as unknown as ApiHandler;
}

let ready: Promise<ApiHandler> | undefined;

/**
 * The Lambda entry point: on the first invocation, configuration is read and
 * checked and the schema migrated (the deploy needs no manual step; the
 * migrator's advisory lock makes concurrent cold starts safe). A failure is
 * retried on the next invocation.
 */
export const handler: ApiHandler = async (event, context) => {
  ready ??= (async () => {
    const config = loadConfig(await withAwsSecrets(process.env));
    const core = createCore(config);
    await migrate(core.pool);
    return createApiHandler({ config, core });
  })().catch((err) => {
    ready = undefined;
    throw err;
  });
  return (await ready)(event, context);
};
