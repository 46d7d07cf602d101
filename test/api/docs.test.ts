/**
 * The documentation pages (/docs, /redoc) through the real local HTTP
 * adapter and the real API handler, on an API that requires keys.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startApi, type TestApi } from '../support/api.js';
import { repoRoot } from '../cdk/synth.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi({ EVALAP_API_KEYS: 'docs-test-user-key', EVALAP_ADMIN_KEY: 'docs-test-admin-key' });
});
afterAll(() => api.close());

const packaged = (pkg: string, file: string) => fs.readFileSync(path.join(repoRoot, 'node_modules', pkg, file));

/** The URLs a page's HTML loads (src and href attributes). */
const refsOf = (html: string) => [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1].replaceAll('&amp;', '&'));

/** A GET with exactly these headers (fetch would add and undo Accept-Encoding), the body as sent. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('the documentation pages', () => {
  it('answer /docs and /redoc with HTML and no API key, on an API whose routes need one', async () => {
    expect((await api.call('GET', '/v1/datasets')).status).toBe(401);
    for (const page of ['/docs', '/redoc']) {
      const res = await api.call('GET', page);
      expect([page, res.status, res.headers.get('content-type')]).toEqual([page, 200, 'text/html; charset=utf-8']);
      expect(res.text).toMatch(/^<!doctype html>/);
    }
  });

  it('load only URLs relative to the page, each of which answers with its content type, and nothing from another origin', async () => {
    const expected: Record<string, string[]> = {
      '/docs': ['docs/swagger-ui.css', 'docs/swagger-ui-bundle.js', 'docs/init.js'],
      '/redoc': ['redoc/redoc.standalone.js', 'redoc/init.js'],
    };
    for (const [page, files] of Object.entries(expected)) {
      const html = (await api.call('GET', page)).text;
      expect(html).not.toMatch(/https?:|\/\//);
      const refs = refsOf(html);
      // The favicon is an empty data: URL, so the browser asks nobody for one.
      expect(refs.filter((r) => r !== 'data:,').map((r) => r.split('?')[0])).toEqual(files);
      for (const ref of refs.filter((r) => r !== 'data:,')) {
        expect(ref).toMatch(/^[a-z][a-z-]*\/[a-z.-]+\?v=[A-Za-z0-9_-]+$/);
        // Behind an API Gateway stage or a CloudFront path, the files resolve under the same prefix.
        expect(new URL(ref, `https://api.example.com/prod${page}`).href.startsWith('https://api.example.com/prod/')).toBe(true);
        const res = await api.call('GET', new URL(ref, api.url + page).pathname + new URL(ref, api.url + page).search);
        expect([ref, res.status, res.headers.get('content-type')]).toEqual([ref, 200, ref.includes('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8']);
      }
    }
  });

  it('point the viewers at the OpenAPI document the API serves, by a URL relative to the page', async () => {
    for (const script of ['/docs/init.js', '/redoc/init.js']) {
      const code = (await api.call('GET', script)).text;
      expect(code).toContain("new URL('openapi.json', document.baseURI)");
      expect(code).not.toMatch(/https?:/);
    }
    // What that URL is from /docs and /redoc: the document, listing the API's routes.
    const doc = await api.call('GET', new URL('openapi.json', `${api.url}/docs`).pathname);
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toContain('/v1/experiment');
    expect((await api.call('GET', '/docs/init.js')).text).toContain('validatorUrl: null');
  });

  it('forbid the browser any other origin, by Content-Security-Policy', async () => {
    for (const page of ['/docs', '/redoc']) {
      const csp = (await api.call('GET', page)).headers.get('content-security-policy') ?? '';
      const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      expect(directives['default-src']).toEqual(["'none'"]);
      expect(directives['script-src']).toEqual(["'self'"]);
      expect(directives['connect-src']).toEqual(["'self'"]);
      for (const values of Object.values(directives)) for (const v of values) expect(v).not.toMatch(/^https?:|\*/);
    }
  });

  it('serve the packaged Swagger UI and Redoc files as the packages ship them, gzipped when the client accepts gzip', async () => {
    const files = [
      ['/docs/swagger-ui-bundle.js', packaged('swagger-ui-dist', 'swagger-ui-bundle.js')],
      ['/docs/swagger-ui.css', packaged('swagger-ui-dist', 'swagger-ui.css')],
      // With its one image from another origin (Redocly's logo, on its CDN) made an empty one.
      ['/redoc/redoc.standalone.js', Buffer.from(packaged('redoc', 'bundles/redoc.standalone.js').toString('utf8').replaceAll('https://cdn.redoc.ly/redoc/logo-mini.svg', 'data:,'))],
    ] as const;
    for (const [route, bytes] of files) {
      const gz = await rawGet(api.url + route, { 'accept-encoding': 'br, gzip;q=0.8' });
      expect([route, gz.status, gz.headers['content-encoding'], gz.headers.vary]).toEqual([route, 200, 'gzip', 'accept-encoding']);
      expect(gz.body.length).toBeLessThan(bytes.length / 2);
      expect(gunzipSync(gz.body).equals(bytes)).toBe(true);
      const plain = await rawGet(api.url + route);
      expect([route, plain.headers['content-encoding']]).toEqual([route, undefined]);
      expect(plain.body.equals(bytes)).toBe(true);
      const refused = await rawGet(api.url + route, { 'accept-encoding': 'gzip;q=0, identity' });
      expect([route, refused.headers['content-encoding']]).toEqual([route, undefined]);
    }
  });

  it('let files be cached for good when asked for by the version the page names, and revalidate the rest by ETag', async () => {
    const html = (await api.call('GET', '/docs')).text;
    const versioned = refsOf(html).find((r) => r.startsWith('docs/swagger-ui-bundle.js'))!;
    const forGood = await rawGet(`${api.url}/${versioned}`, { 'accept-encoding': 'gzip' });
    expect(forGood.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const unversioned = await rawGet(`${api.url}/docs/swagger-ui-bundle.js?v=stale`, { 'accept-encoding': 'gzip' });
    expect(unversioned.headers['cache-control']).toBe('no-cache');
    for (const url of [`${api.url}/docs`, `${api.url}/redoc`, `${api.url}/${versioned}`]) {
      const first = await rawGet(url, { 'accept-encoding': 'gzip' });
      expect(first.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      const again = await rawGet(url, { 'accept-encoding': 'gzip', 'if-none-match': first.headers.etag! });
      expect([url, again.status, again.body.length]).toEqual([url, 304, 0]);
    }
    // The gzipped bundle and the plain one are two representations: neither one's ETag matches the other.
    const gzipTag = forGood.headers.etag!;
    const plain = await rawGet(`${api.url}/${versioned}`);
    expect(gzipTag).toBe(`${plain.headers.etag!.slice(0, -1)}-gzip"`);
    expect((await rawGet(`${api.url}/${versioned}`, { 'if-none-match': gzipTag })).status).toBe(200);
    expect((await rawGet(`${api.url}/${versioned}`, { 'accept-encoding': 'gzip', 'if-none-match': plain.headers.etag! })).status).toBe(200);
    expect((await api.call('GET', '/docs')).headers.get('cache-control')).toBe('no-cache');
  });

  it('redirect /docs/ and /redoc/ to the page itself, where its relative URLs resolve', async () => {
    for (const page of ['docs', 'redoc']) {
      const res = await rawGet(`${api.url}/${page}/`);
      expect([res.status, res.headers.location]).toEqual([308, `../${page}`]);
      expect(new URL(res.headers.location!, `${api.url}/${page}/`).pathname).toBe(`/${page}`);
    }
  });

  it('answer 404 for any file the pages do not load and 405 for other methods, as problem documents', async () => {
    for (const route of ['/docs/package.json', '/docs/redoc.standalone.js', '/redoc/swagger-ui.css', '/docs/..%2Fpackage.json', '/docs/index.html']) {
      const res = await api.call('GET', route);
      expect([route, res.status, res.headers.get('content-type')]).toEqual([route, 404, 'application/problem+json']);
    }
    expect((await api.call('GET', '/docs/nope.js')).body.detail).toContain('swagger-ui-bundle.js');
    const post = await api.call('POST', '/docs', { key: 'docs-test-user-key', body: {} });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
  });
});
