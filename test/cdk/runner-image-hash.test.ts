/**
 * The runner image asset's hash (its ECR tag: a new hash is a new task
 * definition, so a rolling restart of every runner on deploy) follows what
 * the image is built from, and nothing else. Synthesized from a copy of the
 * repository's files, edited between synths.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeOutdir, repoRoot } from './synth.js';
import { runnerImageAsset, synthAt } from './runner-asset.js';

let copy: string;

beforeAll(() => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-repo-'));
  // What git knows of (tracked, or new and not ignored): no node_modules, dist or cdk.out.
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    const from = path.join(repoRoot, file);
    // Deleted in the working tree but still in the index.
    if (!fs.existsSync(from)) continue;
    fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    fs.copyFileSync(from, path.join(copy, file));
  }
});

afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

function runnerImageHash(): string {
  const outdir = synthAt(copy);
  try {
    return runnerImageAsset(outdir).hash;
  } finally {
    removeOutdir(outdir);
  }
}

/** The hash after appending `text` to a file of the copy (created if new); the copy is restored after. */
function hashWithEdit(file: string, text: string): string {
  const p = path.join(copy, file);
  const before = fs.existsSync(p) ? fs.readFileSync(p) : undefined;
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.appendFileSync(p, text);
  try {
    return runnerImageHash();
  } finally {
    if (before === undefined) fs.rmSync(p);
    else fs.writeFileSync(p, before);
  }
}

describe("the runner image asset's hash", () => {
  it('stays the same when only the docs, benchmarks, examples, tests, CLI, local stack, web app, Lambdas or tsconfig.json change', () => {
    const before = runnerImageHash();
    const edits: Record<string, string> = {
      'README.md': '\nA new paragraph.\n',
      'docs/operations.md': '# Operations\n',
      'bench/pipeline.ts': '\n// a benchmark note\n',
      'examples/quickstart.yaml': '\n# an example note\n',
      'test/unit/rouge.test.ts': '\n// a test note\n',
      'cli/main.ts': '\n// a CLI note\n',
      'local/main.ts': '\n// a local stack note\n',
      'web/index.html': '<!doctype html>\n',
      'functions/api/handler.ts': '\n// an API note\n',
      'tsconfig.json': '\n',
    };
    const changed = Object.fromEntries(Object.entries(edits).map(([file, text]) => [file, hashWithEdit(file, text) !== before]));
    expect(changed).toEqual(Object.fromEntries(Object.keys(edits).map((file) => [file, false])));
  }, 60_000);

  it('changes when a file under runner/ or core/, the build script or the lock file changes', () => {
    const before = runnerImageHash();
    const files = ['runner/main.ts', 'core/config.ts', 'scripts/build.js', 'package-lock.json'];
    const changed = Object.fromEntries(files.map((file) => [file, hashWithEdit(file, '\n') !== before]));
    expect(changed).toEqual(Object.fromEntries(files.map((file) => [file, true])));
    // And back: the hash is the files' content, nothing else.
    expect(runnerImageHash()).toBe(before);
  }, 60_000);
});
