/** The `evalap` CLI as a user runs it: a subprocess, against a real API and runner. */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../local/ports.js';
import { startApi, type TestApi } from '../support/api.js';
import { startModelServer, type StubModelServer } from '../support/model-server.js';
import { startRunner, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-cli-'));
let api: TestApi;
let runner: RunningRunner;
let stub: StubModelServer;

beforeAll(async () => {
  api = await startApi();
  runner = startRunner(api);
  stub = await startModelServer({ latencyMs: 300 });
});
afterAll(async () => {
  runner.kill();
  await runner.exited;
  await stub.close();
  await api.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function evalap(args: string[], env: Record<string, string> = {}, onStart?: (p: ReturnType<typeof spawn>) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['bin/evalap.js', ...args], { env: { PATH: process.env.PATH!, EVALAP_DATA_DIR: path.join(tmp, 'data'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => (stdout += d));
    proc.stderr!.on('data', (d) => (stderr += d));
    onStart?.(proc);
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const file = (name: string, content: string) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content);
  return p;
};

describe('evalap run', () => {
  it('runs the quickstart with live progress, prints the results table and writes every export format', async () => {
    const outs = ['r.json', 'r.jsonl', 'r.csv', 'r.xml', 'r.html'].map((f) => path.join(tmp, f));
    const res = await evalap(['run', 'examples/quickstart.yaml', '--api', api.url, ...outs.flatMap((o) => ['--output', o])]);
    expect(res.stderr).toContain('dataset capitals: uploaded 8 rows');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/careful-model +\[#+\] 100% +answers 8\/8 +observations 24\/24 +failed 0/);
    expect(res.stdout).toMatch(/sloppy-model +sloppy-model +exact_match +0\.25 +0\.4629 +8 /);

    const json = JSON.parse(fs.readFileSync(outs[0], 'utf8'));
    expect(json.results).toHaveLength(6);
    expect(json.results.find((r: any) => r.experiment === 'careful-model' && r.metric === 'exact_match')).toMatchObject({ mean: 1, support: 8, failures: 0 });
    const lines = fs.readFileSync(outs[1], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.metric)).toEqual(json.results.map((r: any) => r.metric));
    const csv = fs.readFileSync(outs[2], 'utf8').trim().split('\n');
    expect(csv[0]).toBe('experiment_id,experiment,model,metric,mean,std,support,ci95_low,ci95_high,corpus_score,failures');
    expect(csv).toHaveLength(7);
    const xml = fs.readFileSync(outs[3], 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(6);
    expect(xml).not.toContain('<failure');
    const html = fs.readFileSync(outs[4], 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|<link|src=/);
  });

  it('exits non-zero when a gate fails, and says which', async () => {
    const junit = path.join(tmp, 'gate.xml');
    const res = await evalap(['run', 'examples/quickstart.yaml', '--api', api.url, '--fail-under', 'exact_match=0.5', '--output', junit]);
    expect([res.code, res.code === 1 ? '' : res.stderr]).toEqual([1, '']);
    expect(res.stderr).toContain('FAILED gate exact_match>=0.5 failed for sloppy-model: mean 0.25');
    expect(fs.readFileSync(junit, 'utf8')).toMatch(/<testcase classname="sloppy-model" name="exact_match">.*<failure message="gate exact_match&gt;=0.5 failed for sloppy-model/);
  });

  it('launches two runs of one file started in the same second, the second under the name with -2', async () => {
    const [a, b] = await Promise.all([evalap(['run', 'examples/quickstart.yaml', '--api', api.url]), evalap(['run', 'examples/quickstart.yaml', '--api', api.url])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const names = [a, b].map((r) => /launched experiment set \d+ \(([^)]+)\)/.exec(r.stderr)?.[1]);
    expect(new Set(names).size).toBe(2);
    // Started in the same second (as they almost always are), one name is the other's with -2.
    const [first, second] = [...names].sort() as string[];
    if (first.slice(-6) === second.slice(-8, -2)) expect(second).toBe(`${first}-2`);
  });

  it('stops the experiments it launched on Ctrl-C', async () => {
    const spec = file('slow.yaml', `name: slow\ndataset: capitals\nmodel: { name: stub, base_url: "${stub.url}" }\nmetrics: [exact_match]\n`);
    const res = await evalap(['run', spec, '--api', api.url], {}, (proc) => {
      void waitUntil(async () => stub.requests.length > 0, 30_000, 'the first model call').then(() => proc.kill('SIGINT'));
    });
    expect(res.code).toBe(130);
    const id = Number(/launched experiment set (\d+)/.exec(res.stderr)?.[1]);
    expect(res.stderr).toContain(`stopped experiment set ${id}`);
    expect((await api.call('GET', `/v1/experiment_set/${id}`)).body.status).toBe('stopped');
  });
});

describe('evalap run when rows fail', () => {
  it('ends with why rows failed, kinds counted with one example, and exits non-zero when no answer came back', async () => {
    stub.setBehaviour({ script: () => '400' });
    try {
      const spec = file('refused.yaml', `name: refused\ndataset: capitals\nmodel: { name: stub, base_url: "${stub.url}" }\nmetrics: [exact_match]\n`);
      const res = await evalap(['run', spec, '--api', api.url]);
      expect([res.code, res.stderr]).toEqual([3, expect.stringContaining('FAILED refused: none of its 8 rows was answered (see why above)')]);
      const why = res.stdout.slice(res.stdout.indexOf('Why rows failed:'));
      expect(why).toMatch(/^Why rows failed:\n {2}refused\n {4}answers: 8 rows failed\n {6}.*400.* — 8 rows$/m);
    } finally {
      stub.setBehaviour({ latencyMs: 300 });
    }
  });

  it('says nothing of failures when every row succeeded', async () => {
    const res = await evalap(['run', 'examples/quickstart.yaml', '--api', api.url]);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain('Why rows failed');
  });
});

describe('the OpenAI-compatible example', () => {
  it('runs examples/openai.yaml against the endpoint in OPENAI_BASE_URL', async () => {
    // The judge (the same model) is asked for 1 or 0 alone, as Evalap's judge_exactness is.
    stub.setBehaviour({ reply: (body) => (String(body.messages.at(-1).content).includes('Reply with 1 or 0 alone') ? '1' : 'Paris') });
    try {
      const res = await evalap(['run', 'examples/openai.yaml', '--api', api.url], { OPENAI_BASE_URL: stub.url, OPENAI_API_KEY: 'sk-example-key-123', OPENAI_MODEL: 'stub-model' });
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/capitals-grid-\d{8}-\d{6}__0 +stub-model +exact_match_loose +0\.125 /);
      expect(res.stdout).toMatch(/judge_exactness +1 +0 +8 /);
      expect(stub.requests.some((q) => q.authorization === 'Bearer sk-example-key-123')).toBe(true);
      expect(res.stdout + res.stderr).not.toContain('sk-example-key-123');
    } finally {
      stub.setBehaviour({ latencyMs: 300 });
    }
  });

  it('says which variable is missing', async () => {
    const res = await evalap(['run', 'examples/openai.yaml', '--api', api.url]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe('evalap: examples/openai.yaml: ${OPENAI_MODEL} is used but the environment variable OPENAI_MODEL is not set');
  });
});

describe('evalap errors', () => {
  it.each([
    ['an unreachable API', ['status', '1', '--api', 'http://127.0.0.1:UNUSED'], 3, /^evalap: cannot reach the API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/],
    ['an unknown experiment', ['status', '999999', '--api', 'API'], 2, /^evalap: GET \/v1\/experiment\/999999 failed \(404\): experiment 999999 not found$/],
    ['an unknown command', ['launch'], 2, /^evalap: unknown command "launch"; see evalap --help$/],
    ['a bad gate', ['run', 'examples/quickstart.yaml', '--fail-under', 'exact_match', '--api', 'API'], 2, /^evalap: --fail-under expects metric=value, got "exact_match"$/],
  ])('reports %s in one line', async (_name, args, code, message) => {
    const unused = String(await freePort());
    const res = await evalap(args.map((a) => (a === 'API' ? api.url : a.replace('UNUSED', unused))));
    expect(res.code).toBe(code);
    expect(res.stderr.trim()).toMatch(message);
  });

  it('reports a file that does not parse with its line and column', async () => {
    const bad = file('bad.yaml', 'name: broken\nmetrics: [exact_match\nmodel: x\n');
    const res = await evalap(['run', bad, '--api', api.url]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toMatch(new RegExp(`^evalap: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reports an unknown dataset in one line', async () => {
    const spec = file('nodata.yaml', 'name: nodata\ndataset: no-such-dataset\nmodel: { aliased_name: m, output: [a] }\nmetrics: [exact_match]\n');
    const res = await evalap(['run', spec, '--api', api.url]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe('evalap: POST /v1/experiment_set failed (400): invalid experiments: experiments.0.dataset: no dataset named "no-such-dataset"; create it with POST /v1/dataset or send it inline');
  });

  it('reports a refused key (401) in one line', async () => {
    const keyed = await startApi({ EVALAP_API_KEYS: 'right-key-aaaaaaaaaaaa' });
    try {
      const res = await evalap(['status', '1', '--api', keyed.url], { EVALAP_API_KEY: 'wrong-key-bbbbbbbbbbbb' });
      expect(res.code).toBe(3);
      expect(res.stderr.trim()).toBe(`evalap: the API at ${keyed.url} refused the request (401): set EVALAP_API_KEY to a valid key`);
      expect(res.stderr).not.toContain('wrong-key');
    } finally {
      await keyed.close();
    }
  });
});

describe('evalap without an API', () => {
  it('starts the embedded stack, runs the quickstart to completion and stops it', async () => {
    const env = { EVALAP_DATA_DIR: path.join(tmp, 'embedded'), PORT: String(await freePort()), EVALAP_PG_PORT: String(await freePort()), EVALAP_SQS_PORT: String(await freePort()), RUNNER_POLL_WAIT_SEC: '1' };
    const res = await evalap(['run', 'examples/quickstart.yaml'], env);
    expect(res.stderr).toContain('starting the embedded stack');
    expect({ code: res.code, stderr: res.code ? res.stderr : '' }).toEqual({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(/careful-model +careful-model +exact_match +1 +0 +8 /);
    expect(fs.existsSync(path.join(env.EVALAP_DATA_DIR, 'stack.pid'))).toBe(false);
  });
});

describe('evalap stop and retry --experiment', () => {
  it('stops one experiment, then retries it to finished', async () => {
    const df = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ query: `q${i}`, output_true: `answer to: q${i}` })));
    expect((await api.call('POST', '/v1/dataset', { body: { name: 'single', readme: '', df } })).status).toBe(200);
    const created = await api.call('POST', '/v1/experiment', { body: { name: 'single', dataset: 'single', model: { name: 'stub', base_url: stub.url }, metrics: ['exact_match'] } });
    const id = created.body.id;
    await waitUntil(async () => stub.requests.length > 0, 30_000, 'the first model call');
    const stopped = await evalap(['stop', '--experiment', String(id), '--api', api.url]);
    expect([stopped.code, stopped.stderr]).toEqual([0, '']);
    expect(stopped.stdout).toMatch(new RegExp(`^experiment ${id}: stopped, answers \\d+/\\d+ of 20\\n$`));
    const retried = await evalap(['retry', '--experiment', String(id), '--api', api.url]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(new RegExp(`^experiment ${id}: (pending|running_answers), answers \\d+/\\d+ of 20\\n$`));
    const done = await waitUntil(async () => {
      const e = (await api.call('GET', `/v1/experiment/${id}`)).body;
      return e.experiment_status === 'finished' ? e : undefined;
    }, 60_000, 'the retried experiment to finish');
    expect(done).toMatchObject({ num_try: 20, num_success: 20 });
    expect((await evalap(['stop', '--experiment', 'x', '--api', api.url])).code).toBe(2);
  });
});
