// Builds the entry points with esbuild: every target by default (development),
// or only the ones named (`node scripts/build.js runner`, as the runner's image
// does: its build context holds the runner's sources only). Local entries keep
// node_modules external (they run beside an installed node_modules); the
// Lambda bundle is self-contained.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };
const local = { ...common, packages: 'external', outdir: 'dist' };
// ESM bundles that pull CommonJS dependencies need a `require`.
const banner = { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" };

/** Each target: the folders under dist/ it writes, and its esbuild options. */
const TARGETS = {
  // runner/main.ts starts its worker threads from ./worker.js beside it: both bundles go together.
  runner: { outputs: ['runner'], options: { ...local, entryPoints: { 'runner/main': 'runner/main.ts', 'runner/worker': 'runner/worker.ts' } } },
  local: { outputs: ['local'], options: { ...local, entryPoints: { 'local/main': 'local/main.ts', 'local/stack': 'local/stack.ts' } } },
  cli: { outputs: ['cli'], options: { ...local, entryPoints: { 'cli/main': 'cli/main.ts' } } },
  bench: {
    outputs: ['bench'],
    options: { ...local, entryPoints: { 'bench/launch': 'bench/launch.ts', 'bench/pipeline': 'bench/pipeline.ts', 'bench/floor-client': 'bench/floor-client.ts', 'bench/recovery': 'bench/recovery.ts', 'bench/rows': 'bench/rows.ts', 'bench/fanout': 'bench/fanout.ts' } },
  },
  // The web interface: static files served at / locally and from S3 in AWS.
  // Its options are loaded only when built: the runner image's build context has no ui/ folder.
  ui: { outputs: ['ui'], options: async () => (await import('../ui/build-options.js')).uiBuildOptions },
  lambda: {
    outputs: ['lambda'],
    options: {
      ...common,
      banner,
      entryPoints: { 'lambda/api/index': 'functions/api/handler.ts' },
      outdir: 'dist',
      outExtension: { '.js': '.mjs' },
      // pg's optional native binding is never used.
      external: ['pg-native'],
    },
  },
};

const named = process.argv.slice(2);
const unknown = named.filter((name) => !Object.hasOwn(TARGETS, name));
if (unknown.length > 0) {
  console.error(`unknown build target ${unknown.map((n) => `"${n}"`).join(', ')}; the targets are: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
const chosen = named.length > 0 ? [...new Set(named)] : Object.keys(TARGETS);

// A full build starts from an empty dist/; a partial one replaces only its own
// folders, so the other targets' bundles stay usable.
if (named.length === 0) rmSync('dist', { recursive: true, force: true });
else for (const name of chosen) for (const dir of TARGETS[name].outputs) rmSync(`dist/${dir}`, { recursive: true, force: true });

// Every target runs to its end, so one broken target leaves the others' bundles
// built; esbuild has printed the errors (logLevel).
const results = await Promise.allSettled(chosen.map(async (name) => { const { options } = TARGETS[name]; return build(typeof options === 'function' ? await options() : options); }));
const failed = chosen.filter((_, i) => results[i].status === 'rejected');
if (failed.length > 0) {
  console.error(`build failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
