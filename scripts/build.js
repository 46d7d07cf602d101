// Builds every entry point with esbuild. Local entries keep node_modules
// external (they run from this checkout); the Lambda bundle is self-contained.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };
// ESM bundles that pull CommonJS dependencies need a `require`.
const banner = { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" };

rmSync('dist', { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    packages: 'external',
    entryPoints: {
      'local/main': 'local/main.ts',
      'local/stack': 'local/stack.ts',
      'runner/main': 'runner/main.ts',
      'cli/main': 'cli/main.ts',
      'runner/worker': 'runner/worker.ts',
      'bench/launch': 'bench/launch.ts',
      'bench/pipeline': 'bench/pipeline.ts',
      'bench/floor-client': 'bench/floor-client.ts',
    },
    outdir: 'dist',
  }),
  build({
    ...common,
    banner,
    entryPoints: { 'lambda/api/index': 'functions/api/handler.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    // pg's optional native binding is never used.
    external: ['pg-native'],
  }),
]);
