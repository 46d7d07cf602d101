/**
 * The web interface's files as the local server serves them (dist/ui, built
 * by `npm run build`): the page at `/`, its hashed assets, nothing that
 * loads from another origin, and the API's own paths left to the API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

/** What the page loads: its assets, and its icon (inline, so the browser asks no /favicon.ico of the API). */
const assetsIn = (html: string) => [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => u !== 'data:,');

describe('the web interface served by the local API', () => {
  it('answers / with the page, which names one script and one stylesheet by content hash and forbids other origins', async () => {
    const res = await api.call('GET', '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const assets = assetsIn(res.text);
    expect(assets).toEqual([expect.stringMatching(/^assets\/main-[A-Z0-9]+\.css$/), expect.stringMatching(/^assets\/main-[A-Z0-9]+\.js$/)]);
    expect(res.text).not.toMatch(/https?:\/\//);
    expect(res.text).toContain('<link rel="icon" href="data:,">');
  });

  it('serves the hashed assets for good, minified and without a source map', async () => {
    const page = await api.call('GET', '/');
    for (const asset of assetsIn(page.text)) {
      const res = await api.call('GET', `/${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(res.text).not.toContain('sourceMappingURL');
      // Minified: long lines (template literals keep some line breaks), not one statement per line.
      expect(res.text.length / res.text.split('\n').length).toBeGreaterThan(1000);
    }
    expect(fs.readdirSync(path.resolve('dist/ui/assets')).filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('leaves /v1/, /openapi.json, /health and /docs to the API', async () => {
    expect((await api.call('GET', '/health')).body).toMatchObject({ status: expect.any(String) });
    expect((await api.call('GET', '/openapi.json')).body).toMatchObject({ openapi: expect.any(String) });
    expect((await api.call('GET', '/v1/datasets')).body).toEqual([]);
    const docs = await api.call('GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger');
    // An unknown path is still the API's 404, not the page.
    const unknown = await api.call('GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers an asset that does not exist, or a path leaving the folder, with 404 and no file', async () => {
    expect((await api.call('GET', '/assets/main-NOPE.js')).status).toBe(404);
    const escaped = await fetch(`${api.url}/assets/..%2F..%2Fpackage.json`);
    expect(escaped.status).toBe(404);
    expect(await escaped.text()).not.toContain('"dependencies"');
  });

  it('answers POST / as the API does (only GET and HEAD read the page)', async () => {
    const res = await api.call('POST', '/', { body: {} });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});
