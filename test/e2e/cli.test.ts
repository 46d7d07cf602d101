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
    // Energy, carbon and cost per experiment: outputs brought with the run have no figures and cost nothing here, and no judge was called.
    expect(res.stdout).toMatch(/^experiment +model +answers energy +answers CO2 +judge energy +judge CO2 +answers cost +judge cost +total cost$/m);
    expect(res.stdout).toMatch(/^sloppy-model +sloppy-model +— +— +— +— +— +\$0 +\$0$/m);

    // json: the aggregate results, the gates, and one record per row and metric.
    const json = JSON.parse(fs.readFileSync(outs[0], 'utf8'));
    expect(json.results).toHaveLength(6);
    expect(json.results.find((r: any) => r.experiment === 'careful-model' && r.metric === 'exact_match')).toMatchObject({ mean: 1, support: 8, failures: 0 });
    expect(json.gate_failures).toEqual([]);
    expect(json.impacts.map((i: any) => [i.variant, i.total_usd])).toEqual([['careful-model', 0], ['sloppy-model', 0]]);
    expect(json.rows).toHaveLength(2 * 8 * 3);
    const barcelona = { experiment: 'sloppy-model', variant: 'sloppy-model', num_line: 2, query: 'What is the capital of Spain?', output_true: 'Madrid', answer: 'Barcelona', answer_error: null, metric: 'exact_match', score: 0, observation_error: null };
    expect(json.rows).toContainEqual(expect.objectContaining(barcelona));
    expect(json.rows).toContainEqual(expect.objectContaining({ experiment: 'sloppy-model', num_line: 0, answer: 'paris.', metric: 'exact_match_loose', score: 1 }));

    // jsonl: the same records, one a line.
    const lines = fs.readFileSync(outs[1], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(json.rows);

    // csv: the same records, quoted where needed.
    const csv = fs.readFileSync(outs[2], 'utf8').trim().split('\n');
    expect(csv[0]).toBe('experiment_id,experiment,variant,model,num_line,query,output_true,answer,answer_error,metric,score,observation,observation_error,answer_cost_usd,judge_cost_usd');
    expect(csv).toHaveLength(1 + 48);
    expect(csv).toContainEqual(expect.stringMatching(/^\d+,sloppy-model,sloppy-model,sloppy-model,2,What is the capital of Spain\?,Madrid,Barcelona,,exact_match,0,,,,$/));

    // junit: a testcase per experiment and metric, and per row and metric.
    const xml = fs.readFileSync(outs[3], 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(6 + 48);
    expect(xml).toContain('<testcase classname="sloppy-model" name="row 2 exact_match"><system-out>score=0</system-out></testcase>');
    expect(xml).not.toContain('<failure');

    // html: self-contained, with a chart per metric and the rows.
    const html = fs.readFileSync(outs[4], 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|<link|src=|url\(|https?:/);
    expect(html).toMatch(/<tr><td>sloppy-model<\/td><td>2<\/td><td>exact_match<\/td><td>0<\/td><td>What is the capital of Spain\?<\/td><td>Madrid<\/td><td>Barcelona<\/td>/);
    // Bars on exact_match's own range, 0 to 1: the sloppy model's 0.25 is a quarter of the axis, not the whole.
    expect(html).toContain('aria-label="exact_match: mean per experiment on 0–1"');
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
      const [junit, html] = [path.join(tmp, 'refused.xml'), path.join(tmp, 'refused.html')];
      const res = await evalap(['run', spec, '--api', api.url, '--output', junit, '--output', html]);
      expect([res.code, res.stderr]).toEqual([3, expect.stringContaining('FAILED refused: none of its 8 rows was answered (see why above)')]);
      const why = res.stdout.slice(res.stdout.indexOf('Why rows failed:'));
      expect(why).toMatch(/^Why rows failed:\n {2}refused\n {4}answers: 8 rows failed\n {6}.*400.* — 8 rows$/m);
      // Every row is a failed testcase carrying the answer's error.
      const xml = fs.readFileSync(junit, 'utf8');
      expect(xml.match(/<testcase classname="refused" name="row \d exact_match"><failure message="answer failed: [^"]*400/g)).toHaveLength(8);
      expect(fs.readFileSync(html, 'utf8')).toMatch(/<tr class="bad"><td>refused<\/td><td>\d<\/td><td>exact_match<\/td><td>—<\/td><td>What is the capital of [A-Za-z]+\?<\/td><td>[^<]+<\/td><td><\/td><td>answer: [^<]*400/);
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
      // Grid variants are labelled by the parameter that differs, in the progress bars and the table.
      expect(res.stdout).toMatch(/^temperature=0 \[#+\] 100%/m);
      expect(res.stdout).toMatch(/^temperature=1 \[#+\] 100%/m);
      expect(res.stdout).toMatch(/^temperature=0 +stub-model +exact_match_loose +0\.125 /m);
      expect(res.stdout).not.toMatch(/__\d/);
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

describe('a dataset file that changed since it was uploaded', () => {
  const rows = (third: string) => `query,output_true\nOne?,1\nTwo?,2\nThree?,${third}\n`;
  const spec = (csv: string) => file('changing.yaml', `name: changing\ndataset: { name: changing, path: ${csv} }\nmodel: { aliased_name: fixed, output: ["1", "2", "3"] }\nmetrics: [exact_match]\n`);

  it('is kept when unchanged, refused with the difference when changed, and not replaced while experiments use it', async () => {
    const csv = file('changing.csv', rows('3'));
    const first = await evalap(['run', spec(csv), '--api', api.url]);
    expect([first.code, first.stderr]).toEqual([0, expect.stringContaining('dataset changing: uploaded 3 rows')]);
    const again = await evalap(['run', spec(csv), '--api', api.url]);
    expect([again.code, again.stderr]).toEqual([0, expect.stringContaining('dataset changing: already on the API with the same 3 rows')]);

    fs.writeFileSync(csv, rows('three'));
    const changed = await evalap(['run', spec(csv), '--api', api.url]);
    expect(changed.code).toBe(2);
    expect(changed.stderr.trim()).toBe(`evalap: dataset changing on the API is not the one in ${csv} (same size and columns, different values): run again with --replace to delete it and upload the file, or give the changed file a new dataset name in the run file (e.g. changing-v2)`);
    expect(changed.stderr).not.toContain('launched');

    const replaced = await evalap(['run', spec(csv), '--api', api.url, '--replace']);
    expect(replaced.code).toBe(2);
    expect(replaced.stderr.trim()).toBe('evalap: --replace: dataset changing cannot be replaced, experiments use it (their results were computed on it); give the changed file a new dataset name in the run file (e.g. changing-v2)');
  });

  it('is replaced with --replace when no experiment uses it', async () => {
    const csv = file('pushed.csv', rows('3'));
    expect((await evalap(['datasets', 'push', csv, '--api', api.url])).code).toBe(0);
    fs.writeFileSync(csv, rows('3') + 'Four?,4\n');
    const refused = await evalap(['datasets', 'push', csv, '--api', api.url]);
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('(3 rows on the API, 4 in the file)')]);
    const replaced = await evalap(['datasets', 'push', csv, '--api', api.url, '--replace']);
    expect([replaced.code, replaced.stderr]).toEqual([0, 'dataset pushed: replaced (3 rows on the API, 4 in the file)\ndataset pushed: uploaded 4 rows from ' + csv + '\n']);
    expect((await api.call('GET', '/v1/dataset?name=pushed')).body.size).toBe(4);
  });
});

describe('evalap checks before it runs', () => {
  it.each([
    ['an output of unknown format', ['--output', 'results.txt'], 'evalap: --output results.txt: unknown format; use .json, .jsonl, .csv, .xml (JUnit) or .html'],
    ['a gate on a metric the run file lacks', ['--fail-under', 'exact_matc=0.5'], 'evalap: --fail-under exact_matc=0.5: examples/quickstart.yaml has no metric named "exact_matc" (it has: exact_match, exact_match_loose, levenshtein_ratio; a gate names a metric by its aliased_name when it has one)'],
  ])('refuses %s before connecting to any API', async (_name, args, message) => {
    // An API that does not answer: the check must come first.
    const res = await evalap(['run', 'examples/quickstart.yaml', '--api', `http://127.0.0.1:${await freePort()}`, ...args]);
    expect([res.code, res.stderr.trim()]).toEqual([2, message]);
  });

  it('accepts a gate on an aliased metric name', async () => {
    const res = await evalap(['run', 'examples/quickstart.yaml', '--api', api.url, '--fail-under', 'exact_match_loose=0.3']);
    expect([res.code, res.code ? res.stderr : '']).toEqual([0, '']);
  });
});

describe('evalap status, leaderboard and compare', () => {
  it('shows a set from the id run prints, each experiment with its counters', async () => {
    const ran = await evalap(['run', 'examples/quickstart.yaml', '--api', api.url]);
    const id = /launched experiment set (\d+) .*evalap status --set \1 shows it/.exec(ran.stderr)?.[1];
    expect(id).toBeDefined();
    const res = await evalap(['status', '--set', id!, '--api', api.url]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^experiment set ${id} \\(quickstart-[\\d-]+\\): finished, 2 experiment\\(s\\)\n  careful-model \\(experiment \\d+\\): finished, answers 8/8 of 8, observations 24/24\n  sloppy-model \\(experiment \\d+\\): finished, answers 8/8 of 8, observations 24/24\n$`));
    expect((await evalap(['status', 'set', id!, '--api', api.url])).stdout).toBe(res.stdout);
  });

  it('ranks each metric on its own without --metric', async () => {
    const res = await evalap(['leaderboard', '--dataset', 'capitals', '--api', api.url]);
    expect(res.code).toBe(0);
    const groups = res.stdout.trim().split('\n\n').map((g) => g.split('\n'));
    // One group per metric, each once (other tests' runs on capitals add theirs).
    const heads = groups.map((g) => g[0]);
    expect(heads).toEqual(expect.arrayContaining(['exact_match', 'exact_match_loose', 'levenshtein_ratio']));
    expect(heads).toEqual([...new Set(heads)].sort());
    for (const [metric, ...entries] of groups) {
      expect(entries.filter((e) => !e.includes('more with')).every((e) => new RegExp(`^ +\\d+\\. \\S+  ${metric}  `).test(e))).toBe(true);
    }
    expect(groups[0][1]).toMatch(/^ {2}1\. careful-model  exact_match  1\.0000 /);
  });

  it('refuses to compare runs on different datasets, naming them', async () => {
    const a = await evalap(['run', 'examples/quickstart.yaml', '--api', api.url]);
    const csv = file('other.csv', fs.readFileSync('examples/capitals.csv', 'utf8'));
    const spec = file('other-run.yaml', `name: other\nexperiments:\n  - name: careful-model\n    dataset: { name: capitals-copy, path: ${csv} }\n    model: { aliased_name: careful-model, output: [Paris, Rome, Madrid, Berlin, Tokyo, Ottawa, Canberra, Brasília] }\n    metrics: [exact_match]\n`);
    const b = await evalap(['run', spec, '--api', api.url]);
    const [idA, idB] = [a, b].map((r) => /launched experiment set (\d+)/.exec(r.stderr)![1]);
    const res = await evalap(['compare', idA, idB, '--api', api.url]);
    expect(res.code).toBe(2);
    // On the same dataset, each experiment's line carries its label.
    const same = await evalap(['compare', idA, idA, '--api', api.url]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^sloppy-model {2}exact_match {2}0\.2500 → 0\.2500 {2}diff 0\.0000 {2}95% CI \[[^\]]+\] {2}n=8$/m);
    expect(res.stderr.trim()).toBe(`evalap: sets ${idA} and ${idB} ran on different datasets (careful-model is on dataset capitals, careful-model on capitals-copy): scores are paired row by row, so only runs on the same dataset compare`);
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

describe('evalap view', () => {
  /** A stand-in for xdg-open that records the URL it was asked to open. */
  const opener = () => {
    const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
    fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" >> "${bin}/opened"\n`, { mode: 0o755 });
    return { PATH: `${bin}:${process.env.PATH}`, opened: () => (fs.existsSync(`${bin}/opened`) ? fs.readFileSync(`${bin}/opened`, 'utf8') : '') };
  };

  it('opens the web UI of the API that answers and prints its URL', async () => {
    const o = opener();
    const res = await evalap(['view', '--api', api.url], { PATH: o.PATH });
    expect([res.code, res.stdout]).toEqual([0, `${api.url}/\n`]);
    await waitUntil(async () => o.opened() || undefined, 10_000, 'the browser to be opened');
    expect(o.opened()).toBe(`${api.url}/\n`);
  });

  it('starts the embedded stack on PORT when nothing answers, and keeps it until Ctrl-C', async () => {
    const o = opener();
    const port = await freePort();
    const env = { PATH: o.PATH, EVALAP_DATA_DIR: path.join(tmp, 'view'), PORT: String(port), EVALAP_PG_PORT: String(await freePort()), EVALAP_SQS_PORT: String(await freePort()), RUNNER_POLL_WAIT_SEC: '1' };
    let proc!: ReturnType<typeof spawn>;
    const ran = evalap(['view'], env, (p) => (proc = p));
    const url = `http://127.0.0.1:${port}/`;
    await waitUntil(async () => o.opened() || undefined, 60_000, 'the browser to be opened');
    expect(o.opened()).toBe(`${url}\n`);
    expect((await fetch(`${url}health`)).status).toBe(200);
    proc.kill('SIGINT');
    const res = await ran;
    expect([res.code, res.stdout]).toEqual([0, `${url}\n`]);
    expect(res.stderr).toContain('the embedded stack serves it until Ctrl-C');
    expect(fs.existsSync(path.join(env.EVALAP_DATA_DIR, 'stack.pid'))).toBe(false);
    await expect(fetch(`${url}health`)).rejects.toThrow();
  });
});

describe('evalap stop and retry --experiment', () => {
  it('stops one experiment, then retries it to finished', async () => {
    const df = JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ query: `q${i}`, output_true: `answer to: q${i}` })));
    expect((await api.call('POST', '/v1/dataset', { body: { name: 'single', readme: '', df } })).status).toBe(200);
    // Slow enough that the run is still going when the stop's process has started, however loaded the machine.
    stub.setBehaviour({ latencyMs: 5000 });
    const created = await api.call('POST', '/v1/experiment', { body: { name: 'single', dataset: 'single', model: { name: 'stub', base_url: stub.url }, metrics: ['exact_match'] } });
    const id = created.body.id;
    await waitUntil(async () => stub.requests.length > 0, 30_000, 'the first model call');
    const stopped = await evalap(['stop', '--experiment', String(id), '--api', api.url]);
    expect([stopped.code, stopped.stderr]).toEqual([0, '']);
    expect(stopped.stdout).toMatch(new RegExp(`^experiment ${id}: stopped, answers \\d+/\\d+ of 20\\n$`));
    stub.setBehaviour({ latencyMs: 300 });
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
