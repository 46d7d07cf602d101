/**
 * Request and response plumbing shared by every route: the route type, the
 * validation of path, query and body with zod, problem+json errors, the
 * next-page headers of lists and the 413 of an oversized body.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import type { CoreContext } from '../../core/context.js';
import { CoreError, PayloadTooLargeError, UnavailableError, ValidationError, type FieldIssue } from '../../core/errors.js';
import { HttpError } from './errors.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The body as text, for routes that accept CSV or JSONL. */
  rawBody: string;
  /** The media type of the body, lower-cased, without parameters. */
  contentType: string;
  /** The body's bytes, for routes that declare `binaryBodies` (empty for others). */
  bytes: Uint8Array;
  /** Built on first access: a route that never reads it touches no configuration or service. */
  core: CoreContext;
  /** Whether the request carried a valid API key, or the API is open. */
  authenticated: boolean;
}

export interface RouteOutput {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Route<P = any, Q = any, B = any> {
  method: Method;
  /** Path with `{name}` parameters, as @middy/http-router takes it. */
  path: string;
  summary: string;
  params?: z.ZodType<P, any>;
  query?: z.ZodType<Q, any>;
  body?: z.ZodType<B, any>;
  /** Media types accepted besides application/json; the route parses those itself from rawBody. */
  textBodies?: readonly string[];
  /** Media types taken as raw bytes (a file upload): the route reads `bytes`; no content type is taken as one of these. */
  binaryBodies?: readonly string[];
  /** Where to read a response too large to send (a paginated route), said in its 413. */
  tooLarge?: string;
  /** The response schema, for the OpenAPI document. */
  response?: z.ZodType;
  run(input: RouteInput<P, Q, B>): Promise<RouteOutput>;
}

/** Zod issues as `{path, message}`, with union branches flattened to the one the client most likely meant. */
export function zodIssues(error: z.ZodError, prefix: (string | number)[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'invalid_union' && issue.errors.length) {
      // The branch with the fewest problems is the one the client was writing.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      out.push(...zodIssues({ issues: best } as z.ZodError, path));
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key].join('.'), message: 'unknown field' });
      continue;
    }
    out.push({ path: path.join('.'), message: issue.message });
  }
  return out;
}

export function validate<T>(schema: z.ZodType<T, any>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ValidationError(`invalid ${where}`, zodIssues(parsed.error, where === 'body' ? [] : [where]));
  return parsed.data;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An RFC 9457 problem document. Only CoreErrors say what went wrong; anything else is a bare 500. */
export function problem(err: unknown, instance: string): APIGatewayProxyStructuredResultV2 {
  const known = err instanceof CoreError;
  const status = known ? err.status : 500;
  const body: Record<string, unknown> = {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    detail: known ? err.message : 'an unexpected error occurred; it has been logged',
    instance,
  };
  if (known && err.issues.length) body.errors = err.issues;
  // Evalap clients read `detail`; make it say everything on one line.
  if (known && err.issues.length) body.detail = `${err.message}: ${err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`;
  const headers = err instanceof HttpError ? err.headers : err instanceof UnavailableError ? { 'retry-after': String(err.retryAfterSec) } : {};
  return { statusCode: status, headers: { 'content-type': 'application/problem+json', ...headers }, body: JSON.stringify(body) };
}

export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

export function bodyBytes(event: APIGatewayProxyEventV2): Uint8Array {
  if (event.body == null) return new Uint8Array();
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

export function bodyText(event: APIGatewayProxyEventV2): string {
  if (event.body == null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** Lists are JSON arrays, as Evalap clients expect; the next page's cursor travels in headers. */
export function pageHeaders(path: string, query: Record<string, unknown>, next: string | null): Record<string, string> {
  if (!next) return {};
  const params = new URLSearchParams(Object.entries({ ...query, cursor: next }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string]));
  return { 'x-next-cursor': next, link: `<${path}?${params}>; rel="next"` };
}

/** A clear 413 for bodies above the limit, telling how to send more rows. */
export function tooLarge(limit: number, path: string): PayloadTooLargeError {
  // Lambda takes at most 6 MB per synchronous request, and API Gateway hands it a binary body base64-encoded
  // (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
  // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html: isBase64Encoded).
  const hint = /^\/v1\/dataset\/[^/]+\/upload_parquet\/?$/.test(path)
    ? 'a Parquet file is uploaded in one request, and requests are limited as AWS Lambda limits them (6 MB, about 4.4 MB of binary once API Gateway base64-encodes it); upload a smaller file (fewer rows, smaller images)'
    : path.startsWith('/v1/dataset')
    ? 'create the dataset with the first rows, then append the rest in chunks with POST /v1/dataset/{id}/rows'
    : 'reference large datasets by name instead of sending them inline';
  return new PayloadTooLargeError(`the request body is larger than ${limit} bytes; ${hint}`);
}
