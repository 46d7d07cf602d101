/** `evalap`'s parsing as a user meets it: help, version and usage errors, which need no API. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function evalap(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    // No EVALAP_API_URL and no PORT answering would start the embedded stack: none of these commands may get that far.
    const proc = spawn(process.execPath, ['bin/evalap.js', ...args], { env: { PATH: process.env.PATH! }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => (stdout += d));
    proc.stderr!.on('data', (d) => (stderr += d));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('evalap --version and --help', () => {
  it('prints the version of package.json and exits 0', async () => {
    const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8'));
    expect(await evalap(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('prints the help of run with its own options and the global ones, and exits 0', async () => {
    const res = await evalap(['run', '--help']);
    expect([res.code, res.stderr]).toEqual([0, '']);
    expect(res.stdout).toMatch(/^Usage: evalap run \[options\] <file>\n/);
    for (const option of ['-o, --output <file>', '--fail-under <metric=value>', '--max-failures <n>', '--replace', '--api <url>', '--verbose']) expect(res.stdout).toContain(option);
    expect(res.stdout).not.toContain('--experiment');
  });

  it('lists every command in the top-level help', async () => {
    const res = await evalap(['--help']);
    expect(res.code).toBe(0);
    for (const command of ['run', 'status', 'results', 'leaderboard', 'datasets', 'stop', 'retry', 'compare', 'serve', 'view']) expect(res.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });
});

describe('evalap usage errors', () => {
  it.each([
    ['an unknown option of a command', ['run', 'examples/quickstart.yaml', '--frobnicate'], 'evalap: unknown option "--frobnicate"; see evalap run --help'],
    ['an option of another command', ['status', '1', '--fail-under', 'exact_match=1'], 'evalap: unknown option "--fail-under"; see evalap status --help'],
    ['a missing argument', ['run'], 'evalap: missing required argument "file"; see evalap run --help'],
    ['an unknown sub-command', ['datasets', 'pull', 'x.csv'], 'evalap: unknown command "pull"; see evalap datasets --help'],
  ])('reports %s in one line and exits 2', async (_name, args, message) => {
    const res = await evalap(args);
    expect([res.code, res.stderr, res.stdout]).toEqual([2, `${message}\n`, '']);
  });

  it('shows the help and exits 2 without a command', async () => {
    const res = await evalap([]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^Usage: evalap \[options\] \[command\]/);
  });
});
