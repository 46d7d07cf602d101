/**
 * Turns the route table into @middy/http-router routes: each gets its
 * path, query and body validated before its `run` sees them. Unknown paths
 * are 404, known paths with another method 405.
 */
import httpRouter from '@middy/http-router';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.js';
import { CoreError, PayloadTooLargeError, ValidationError } from '../../core/errors.js';
import { findUnstorable } from '../../core/storable.js';
import { docsRoutes } from './docs.js';
import { HttpError } from './errors.js';
import { bodyBytes, bodyText, header, json, validate, type Route, type RouteInput } from './http.js';

const NO_QUERY = z.object({}).strict();

function mediaType(event: APIGatewayProxyEventV2): string {
  return (header(event, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 quotes part of the body in its message ("…, "{"api_key": "sk-…" is not valid JSON"): a body may hold a provider key, so no excerpt is echoed.
    const message = (err as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    throw new ValidationError('invalid JSON body', [{ path: '', message: `${message || 'not valid JSON'} (the body is not valid JSON)` }]);
  }
}

/** Refuses what the database could not store, before any schema or write sees it. */
function assertStorable(value: unknown, where: string): void {
  const issue = findUnstorable(value, where);
  if (issue) throw new ValidationError(`invalid ${where || 'body'}`, [issue]);
}

/**
 * A synchronous Lambda returns at most 6 MB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
 * "Invocation payload"): a larger body is refused here with a 413 that says where to read it page by page, rather
 * than failing in Lambda with a bare 502. The same limit applies locally, so it shows before deployment.
 */
function sized(route: Route, out: ReturnType<typeof json>, maxBytes: number) {
  const bytes = Buffer.byteLength(out.body ?? '');
  if (bytes <= maxBytes) return out;
  const mb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.ceil(n / 1e3)} KB`);
  throw new PayloadTooLargeError(`the response would be ${mb(bytes)}, more than one response may carry (${mb(maxBytes)})${route.tooLarge ? `; ${route.tooLarge}` : ''}`);
}

function adapt(route: Route, getCore: () => CoreContext, authenticated: (event: APIGatewayProxyEventV2) => boolean, maxResponseBytes: number) {
  return async (event: APIGatewayProxyEventV2) => {
    assertStorable(event.pathParameters ?? {}, 'path');
    assertStorable(event.queryStringParameters ?? {}, 'query');
    const params = route.params ? validate(route.params, event.pathParameters ?? {}, 'path') : {};
    const query = validate(route.query ?? NO_QUERY, event.queryStringParameters ?? {}, 'query');
    const contentType = mediaType(event);
    // A file's bytes are not text: they are neither decoded nor checked as text, and the route stores them as it sees fit.
    const bytes = route.binaryBodies ? bodyBytes(event) : new Uint8Array();
    const rawBody = route.binaryBodies ? '' : bodyText(event);
    assertStorable(rawBody, 'body');
    let body: unknown;
    if (route.binaryBodies) {
      if (contentType && !route.binaryBodies.includes(contentType)) {
        throw new HttpError(415, `unsupported content type ${JSON.stringify(contentType)}; send ${route.binaryBodies.join(' or ')}`);
      }
    } else if (route.body || route.textBodies) {
      if (!rawBody) throw new ValidationError('missing body', [{ path: '', message: 'this route needs a JSON body' }]);
      if (contentType === 'application/json' || (contentType === '' && route.body && !route.textBodies)) {
        if (!route.body) throw new HttpError(415, `send this route a body of type ${route.textBodies!.join(' or ')}`);
        const json = parseJson(rawBody);
        assertStorable(json, '');
        body = validate(route.body, json, 'body');
      } else if (!route.textBodies?.includes(contentType)) {
        const accepted = [...(route.body ? ['application/json'] : []), ...(route.textBodies ?? [])];
        throw new HttpError(415, `unsupported content type ${JSON.stringify(contentType || 'none')}; send ${accepted.join(' or ')}`);
      }
    } else if (rawBody) {
      throw new ValidationError('unexpected body', [{ path: '', message: 'this route takes no body' }]);
    }
    const input = { params, query, body, rawBody, contentType, bytes, authenticated: authenticated(event) } as RouteInput<unknown, unknown, unknown>;
    Object.defineProperty(input, 'core', { get: getCore, enumerable: true });
    const out = await route.run(input);
    return sized(route, json(out.status ?? 200, out.body, out.headers), maxResponseBytes);
  };
}

export function createRouter(routes: readonly Route[], getCore: () => CoreContext, authenticated: (event: APIGatewayProxyEventV2) => boolean = () => true, maxResponseBytes = 6_000_000) {
  // A path parameter without a schema would reach the database unchecked (an id past its range is a 500 there).
  const unchecked = routes.find((r) => /\{[^/]+\}/.test(r.path) && !r.params);
  if (unchecked) throw new Error(`route ${unchecked.method} ${unchecked.path} has path parameters but no params schema`);
  // The documentation pages answer HTML, scripts and styles, not JSON: they bypass `adapt`.
  const patterns = [...routes, ...docsRoutes].map((r) => ({
    method: r.method,
    regex: new RegExp('^' + r.path.replace(/\{[^/]+\}/g, '[^/]+') + '/?$'),
  }));
  return httpRouter({
    routes: [...routes.map((r) => ({ method: r.method, path: r.path, handler: adapt(r, getCore, authenticated, maxResponseBytes) })), ...docsRoutes],
    notFoundResponse: ({ method, path }: { method: string; path: string }) => {
      const allowed = [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))];
      if (allowed.length) throw new HttpError(405, `${method} is not allowed on ${path}; use ${allowed.join(', ')}`, { allow: allowed.join(', ') });
      throw new CoreError(`no route ${method} ${path}; GET /v1/openapi.json lists them`, 404);
    },
  });
}
