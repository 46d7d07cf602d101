// The web interface's esbuild options (scripts/build.js's `ui` target):
// one minified browser bundle and one stylesheet under dist/ui/assets/, named
// by their content hash so a static host may cache them for good, and an
// index.html naming them, written when the build ends. Preact stands in for
// React (preact/compat) so the TanStack packages run on it. No source map
// ships: the folder is published as it is.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const OUT = 'dist/ui';

const reactOnPreact = {
  react: 'preact/compat',
  'react-dom': 'preact/compat',
  'react/jsx-runtime': 'preact/jsx-runtime',
  'react-dom/client': 'preact/compat/client',
};

const page = (script, style) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evalap</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${style}">
</head>
<body>
<div id="app"></div>
<script type="module" src="${script}"></script>
</body>
</html>
`;

/** Writes index.html beside the hashed assets esbuild has just written. */
const indexHtml = {
  name: 'index-html',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0 || !result.metafile) return;
      const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(OUT, file).split(path.sep).join('/'));
      const script = outputs.find((f) => f.endsWith('.js'));
      const style = outputs.find((f) => f.endsWith('.css'));
      mkdirSync(OUT, { recursive: true });
      // Relative URLs: the page works under any path prefix (a CloudFront behaviour, a sub-folder).
      writeFileSync(path.join(OUT, 'index.html'), page(script, style));
    });
  },
};

export const uiBuildOptions = {
  entryPoints: { main: 'ui/main.tsx' },
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  outdir: OUT,
  entryNames: 'assets/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  alias: reactOnPreact,
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
  logLevel: 'warning',
  plugins: [indexHtml],
};
