/**
 * Serves the API Lambda handler over plain HTTP, turning each request into
 * the API Gateway v2 event the handler gets in AWS, so the same code runs in
 * both places.
 */
import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { ApiHandler } from '../functions/api/handler.js';
import { problem, tooLarge } from '../functions/api/http.js';
import { uiFiles, type UiFiles } from './static.js';

/** Media types whose bodies are text; any other body (a Parquet upload) is binary. */
const TEXT_TYPE = /^(text\/|application\/(json|[\w.+-]*\+json|x-ndjson|jsonl|x-jsonlines|x-www-form-urlencoded|xml)$)/;

const mediaTypeOf = (req: http.IncomingMessage) => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();

/** `type`: the request's media type (mediaTypeOf), read once by the server. */
function toEvent(req: http.IncomingMessage, body: Buffer, type: string): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const now = Date.now();
  // Without a content type (Python's requests with data=...), bytes that are not UTF-8 text are binary.
  const binary = body.length > 0 && (type ? !TEXT_TYPE.test(type) : !isUtf8(body));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    // As API Gateway does for an HTTP API, a binary body reaches the handler base64-encoded: text decoding would corrupt it
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html: isBase64Encoded).
    body: body.length ? body.toString(binary ? 'base64' : 'utf8') : undefined,
    isBase64Encoded: binary,
  };
}

const lambdaContext = (requestId: string): Context =>
  ({ awsRequestId: requestId, functionName: 'evalap-api-local', getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false }) as unknown as Context;

/** `ui`: the web interface's files, served at `/` and `/assets/…` (local/static.ts); null serves the API alone. */
export function createApiServer(handler: ApiHandler, maxBodyBytes: number, ui: UiFiles | null = uiFiles()): http.Server {
  return http.createServer((req, res) => {
    if (ui?.serve(req, res)) return;
    const chunks: Buffer[] = [];
    let size = 0;
    const type = mediaTypeOf(req);
    const binaryType = type !== '' && !TEXT_TYPE.test(type);
    let rejected = false;
    const send = (status: number, headers: Record<string, string | number | boolean>, body: string | Buffer) => {
      res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      // Lambda refuses such bodies before the handler runs: refuse them before reading them whole.
      // A binary body counts at its base64 size, as it weighs in the Lambda request payload.
      if ((binaryType ? Math.ceil(size / 3) * 4 : size) > maxBodyBytes) {
        rejected = true;
        const out = problem(tooLarge(maxBodyBytes, req.url ?? ''), req.url ?? '');
        send(out.statusCode!, { ...(out.headers as Record<string, string>), connection: 'close' }, out.body!);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', async () => {
      if (rejected) return;
      const event = toEvent(req, Buffer.concat(chunks), type);
      try {
        const out = await handler(event, lambdaContext(event.requestContext.requestId));
        // As API Gateway does, a base64 body (gzip, binary) goes out as the bytes it encodes.
        send(out.statusCode ?? 200, (out.headers ?? {}) as Record<string, string>, out.isBase64Encoded ? Buffer.from(out.body ?? '', 'base64') : (out.body ?? ''));
      } catch (err) {
        const out = problem(err, event.rawPath);
        send(out.statusCode!, out.headers as Record<string, string>, out.body!);
      }
    });
    req.on('error', () => res.destroy());
  });
}

/** Listens, rejecting with the listen error (EADDRINUSE...) instead of emitting it. */
export function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}
