/**
 * Serves the built web interface (dist/ui, scripts/build.js's `ui` target)
 * from the local API server: `/` and `/index.html` are its page, `/assets/…`
 * its content-hashed script and stylesheet. Every other path is the API's:
 * `/v1/…`, `/openapi.json`, `/docs`, `/redoc`, `/health` are never answered
 * here. In AWS the same folder is served from S3 behind CloudFront.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { projectRoot } from './paths.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * The page may load and call only its own origin. Inline styles are allowed:
 * the virtualised table and the charts position their elements with style
 * attributes.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

const isUiPath = (p: string) => p === '/' || p === '/index.html' || p.startsWith('/assets/');

export interface UiFiles {
  /** Answers the request if its path is the web interface's; returns whether it did. */
  serve(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

export function uiFiles(dir = path.join(projectRoot(), 'dist', 'ui')): UiFiles {
  const root = path.resolve(dir);
  return {
    serve(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const pathname = new URL(req.url ?? '/', 'http://local').pathname;
      if (!isUiPath(pathname)) return false;
      const file = path.resolve(root, '.' + decodeURIComponent(pathname === '/' ? '/index.html' : pathname));
      // A path that leaves the folder (`/assets/../../x`) is refused, not resolved.
      const inside = file.startsWith(root + path.sep);
      let body: Buffer | undefined;
      try {
        if (inside && fs.statSync(file).isFile()) body = fs.readFileSync(file);
      } catch {
        body = undefined;
      }
      if (!body) {
        const missing = pathname === '/' || pathname === '/index.html';
        const text = missing ? 'The web interface is not built: run `npm run build` (it writes dist/ui).\n' : 'not found\n';
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
        return true;
      }
      const ext = path.extname(file);
      res.writeHead(200, {
        'content-type': TYPES[ext] ?? 'application/octet-stream',
        'content-length': body.length,
        // Assets are named by their content hash: cacheable for good. The page names them: always revalidated.
        'cache-control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
        ...(ext === '.html' ? { 'content-security-policy': CSP, 'referrer-policy': 'no-referrer' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
