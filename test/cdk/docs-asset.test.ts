/**
 * The API Lambda's asset, as `cdk synth` stages it (bundled by the local
 * esbuild): it holds the documentation pages' Swagger UI and Redoc files
 * beside the bundle, and the bundle serves them from there with no
 * node_modules around, as in Lambda.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DOCS_ASSET_DIR, PACKAGED_FILES } from '../../functions/api/docs-assets.js';
import { removeOutdir, repoRoot, synth } from './synth.js';

let outdir: string;
let apiAsset: string;

beforeAll(() => {
  const made = synth({ bundle: true });
  outdir = made.outdir;
  const fn = made.stack.api.function;
  const code = Template.fromStack(made.stack).toJSON().Resources[made.stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties.Code;
  apiAsset = path.join(outdir, `asset.${String(code.S3Key).replace('.zip', '')}`);
}, 180_000);

afterAll(() => removeOutdir(outdir));

describe("the API Lambda's asset", () => {
  it('holds every packaged documentation file beside the bundle, as the package ships it', () => {
    expect(fs.existsSync(path.join(apiAsset, 'index.mjs'))).toBe(true);
    for (const f of PACKAGED_FILES) {
      const staged = path.join(apiAsset, DOCS_ASSET_DIR, f.package, f.file);
      expect([f.file, fs.existsSync(staged)]).toEqual([f.file, true]);
      expect(fs.readFileSync(staged).equals(fs.readFileSync(path.join(repoRoot, 'node_modules', f.package, f.file)))).toBe(true);
    }
  });

  it('serves /docs and its files from that folder alone, with no node_modules and an empty environment', () => {
    // Outside the repository, as in Lambda: only the asset's files.
    const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-docs-asset-'));
    try {
      fs.cpSync(apiAsset, alone, { recursive: true });
      const script = `
        const { handler } = await import('./index.mjs');
        const event = (p, headers = {}) => ({ version: '2.0', rawPath: p, headers, requestContext: { http: { method: 'GET', path: p }, requestId: 'r' }, isBase64Encoded: false });
        const out = {};
        for (const f of ${JSON.stringify(PACKAGED_FILES.map((f) => f.route))}) out[f] = await handler(event('/' + f, { 'accept-encoding': 'gzip' }), {});
        out.page = await handler(event('/docs'), {});
        (await import('node:fs')).writeFileSync('responses.json', JSON.stringify(out));`;
      // Its stdout is the access log.
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: alone, env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
      const out = JSON.parse(fs.readFileSync(path.join(alone, 'responses.json'), 'utf8'));
      expect([out.page.statusCode, out.page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
      for (const f of PACKAGED_FILES) {
        const res = out[f.route];
        expect([f.route, res.statusCode, res.headers['content-encoding'], res.isBase64Encoded]).toEqual([f.route, 200, 'gzip', true]);
        const served = gunzipSync(Buffer.from(res.body, 'base64')).toString('utf8');
        let expected = fs.readFileSync(path.join(repoRoot, 'node_modules', f.package, f.file), 'utf8');
        for (const [from, to] of f.replace ?? []) expected = expected.replaceAll(from, to);
        expect(served === expected).toBe(true);
      }
    } finally {
      fs.rmSync(alone, { recursive: true, force: true });
    }
  });
});
