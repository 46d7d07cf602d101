/**
 * The API's documentation pages: Swagger UI at `/docs` and Redoc at
 * `/redoc`, both rendering the OpenAPI document the API serves, from files
 * packaged with the API (no CDN, no request leaves the API's origin).
 *
 * Where the packaged files come from: they are read from disk on first use,
 * from a `docs-assets/` folder beside the running bundle (cdk/lambda.ts
 * copies them there into the Lambda's asset) or else from node_modules (the
 * local stack and the tests run beside an installed node_modules, as for
 * every other dependency of theirs). They are not inlined into the bundle:
 * 3 MB of string literals would be parsed at every cold start of the API,
 * for every route, when only these pages need them.
 *
 * Every URL in the pages is relative (`docs/…`, `openapi.json`), so they work
 * under an API Gateway stage, a CloudFront path or a custom domain mapping.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DOCS_ASSET_DIR, PACKAGED_FILES, type PackagedFile } from './docs-assets.js';
import { HttpError } from './errors.js';
import { header } from './http.js';

type Result = APIGatewayProxyStructuredResultV2;

/** A route answered with a raw response (HTML, JavaScript, CSS), not JSON. */
export interface RawRoute {
  method: 'GET';
  path: string;
  handler(event: APIGatewayProxyEventV2): Promise<Result>;
}

interface StaticFile {
  body: Buffer;
  contentType: string;
  /** A digest of the body: the pages load each file with `?v=<version>`, which makes it cacheable for good. */
  version: string;
  gzipped?: Buffer;
}

const PAGES = { docs: 'Swagger UI', redoc: 'Redoc' } as const;
type Page = keyof typeof PAGES;

/** The paths answered without an API key, as the OpenAPI document they show. */
export const isDocsPath = (p: string) => Object.keys(PAGES).some((page) => p === `/${page}` || p.startsWith(`/${page}/`));

// Both resolve the document from the page's own URL: `/docs` → `/openapi.json`, `/prod/docs` → `/prod/openapi.json`.
const INIT_SCRIPTS: Record<string, string> = {
  'docs/init.js': `window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', document.baseURI).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  // Swagger UI's default validator is an outside service (its badge is an image fetched from it).
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`,
  'redoc/init.js': `Redoc.init(new URL('openapi.json', document.baseURI).href, {}, document.getElementById('redoc'));
`,
};

/** What each page loads, in order; its scripts run after its styles. */
const PAGE_FILES: Record<Page, string[]> = {
  docs: ['docs/swagger-ui.css', 'docs/swagger-ui-bundle.js', 'docs/init.js'],
  redoc: ['redoc/redoc.standalone.js', 'redoc/init.js'],
};

/**
 * The browser may fetch from this origin only: a page that tried to reach a
 * CDN or a font service would be refused. Redoc runs its search index in a
 * worker made from a blob; both libraries set inline styles.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  'worker-src blob:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const here = path.dirname(fileURLToPath(import.meta.url));

function readPackaged(f: PackagedFile): Buffer {
  // Node's own lookup order (nearest folder first), without package "exports" getting in the way of plain files.
  for (let dir = here; ; dir = path.dirname(dir)) {
    for (const base of [path.join(dir, DOCS_ASSET_DIR), path.join(dir, 'node_modules')]) {
      const file = path.join(base, f.package, f.file);
      if (fs.existsSync(file)) return fs.readFileSync(file);
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new HttpError(500, `the documentation file ${f.package}/${f.file} is not packaged with this API (no ${DOCS_ASSET_DIR}/ beside it, no node_modules above it)`);
}

function withReplacements(body: Buffer, f: PackagedFile): Buffer {
  if (!f.replace?.length) return body;
  let text = body.toString('utf8');
  for (const [from, to] of f.replace) text = text.replaceAll(from, to);
  return Buffer.from(text);
}

const staticFile = (body: Buffer, contentType: string): StaticFile => ({
  body,
  contentType,
  version: createHash('sha256').update(body).digest('base64url').slice(0, 16),
});

const loaded = new Map<string, StaticFile>();

/** One of the files the pages load, by its path under the API's root (`docs/swagger-ui.css`); undefined if there is none. */
function fileAt(route: string): StaticFile | undefined {
  const cached = loaded.get(route);
  if (cached) return cached;
  const packaged = PACKAGED_FILES.find((f) => f.route === route);
  const script = INIT_SCRIPTS[route];
  let file: StaticFile;
  if (packaged) file = staticFile(withReplacements(readPackaged(packaged), packaged), packaged.contentType);
  else if (script !== undefined) file = staticFile(Buffer.from(script), 'text/javascript; charset=utf-8');
  else return undefined;
  loaded.set(route, file);
  return file;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function pageFile(page: Page): StaticFile {
  const cached = loaded.get(page);
  if (cached) return cached;
  const refs = PAGE_FILES[page].map((route) => ({ route, href: escapeHtml(`${route}?v=${fileAt(route)!.version}`) }));
  const styles = refs.filter((r) => r.route.endsWith('.css')).map((r) => `<link rel="stylesheet" href="${r.href}">`);
  const scripts = refs.filter((r) => r.route.endsWith('.js')).map((r) => `<script src="${r.href}"></script>`);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evalap API: ${PAGES[page]}</title>
<link rel="icon" href="data:,">
${styles.join('\n')}
</head>
<body>
<div id="${page === 'docs' ? 'swagger-ui' : 'redoc'}"></div>
${scripts.join('\n')}
</body>
</html>
`;
  const file = staticFile(Buffer.from(html), 'text/html; charset=utf-8');
  loaded.set(page, file);
  return file;
}

/** Whether Accept-Encoding admits gzip (RFC 9110 §12.5.3: a listed coding, or `*`, with a q-value above 0). */
function acceptsGzip(value: string | undefined): boolean {
  for (const part of (value ?? '').toLowerCase().split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim());
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (!q || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

const matchesEtag = (value: string | undefined, etag: string) =>
  value !== undefined && value.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');

/**
 * Below this size gzip saves less than it costs. Sizes against the 6 MB a
 * synchronous Lambda may return, JSON envelope included
 * (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html): the
 * largest file, swagger-ui-bundle.js, is 1.7 MB as text (for a client that
 * refuses gzip) and 0.6 MB gzipped then base64-encoded. API Gateway HTTP APIs
 * compress nothing themselves; a binary body goes back to them base64-encoded
 * with `isBase64Encoded: true`, which they decode
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
 * "Lambda function response format").
 */
const GZIP_MIN_BYTES = 1024;

function respond(event: APIGatewayProxyEventV2, file: StaticFile, cacheControl: string, extra: Record<string, string> = {}): Result {
  const gzip = file.body.length >= GZIP_MIN_BYTES && acceptsGzip(header(event, 'accept-encoding'));
  // Each encoding is a different representation, so each has its own strong validator.
  const etag = `"${file.version}${gzip ? '-gzip' : ''}"`;
  const headers: Record<string, string> = {
    'content-type': file.contentType,
    'cache-control': cacheControl,
    etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    ...extra,
  };
  if (matchesEtag(header(event, 'if-none-match'), etag)) return { statusCode: 304, headers, body: '' };
  if (!gzip) return { statusCode: 200, headers, body: file.body.toString('utf8') };
  file.gzipped ??= gzipSync(file.body, { level: 9 });
  return { statusCode: 200, headers: { ...headers, 'content-encoding': 'gzip' }, body: file.gzipped.toString('base64'), isBase64Encoded: true };
}

function pageRoute(page: Page): RawRoute {
  return {
    method: 'GET',
    path: `/${page}`,
    async handler(event) {
      // At `/docs/` the page's relative URLs would point one level too deep (`/docs/docs/…`).
      if (event.requestContext.http.path.endsWith('/')) return { statusCode: 308, headers: { location: `../${page}` }, body: '' };
      // The page names its files' versions: it must be revalidated (cheaply, by its ETag) to pick up new ones.
      return respond(event, pageFile(page), 'no-cache', { 'content-security-policy': CONTENT_SECURITY_POLICY, 'referrer-policy': 'no-referrer' });
    },
  };
}

function fileRoute(page: Page): RawRoute {
  return {
    method: 'GET',
    path: `/${page}/{file}`,
    async handler(event) {
      const name = event.pathParameters?.file ?? '';
      const file = fileAt(`${page}/${name}`);
      if (!file) {
        throw new HttpError(404, `no file ${JSON.stringify(name)} under /${page}; the page loads ${PAGE_FILES[page].map((r) => r.slice(page.length + 1)).join(', ')}`);
      }
      const versioned = event.queryStringParameters?.v === file.version;
      return respond(event, file, versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  };
}

export const docsRoutes: readonly RawRoute[] = [pageRoute('docs'), pageRoute('redoc'), fileRoute('docs'), fileRoute('redoc')];
