/**
 * The Dockerfile emulator the runner image test relies on (test/support/dockerfile.ts):
 * Docker's semantics where the runner's Dockerfile depends on them, and a
 * loud refusal where it cannot follow Docker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildDockerfile, hostPath, parseDockerfile } from '../support/dockerfile.js';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-dockerfile-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function context(files: Record<string, string>): string {
  const dir = path.join(work, 'context');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const build = (dir: string) => buildDockerfile({ context: dir, dockerfile: 'Dockerfile', into: path.join(work, 'stages'), env: { PATH: process.env.PATH! } });

describe('the Dockerfile emulator', () => {
  it('joins continued lines, drops comments, and tells the exec form from the shell form', () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\nFROM node:22 AS build\nRUN --mount=type=cache,target=/root/.npm a \\\n # a comment inside\n && b\nCMD ["node", "x.js"]\n');
    expect(parsed.map((i) => [i.line, i.keyword, i.flags, i.args, i.execForm])).toEqual([
      [2, 'FROM', {}, ['node:22', 'AS', 'build'], false],
      [3, 'RUN', { mount: 'type=cache,target=/root/.npm' }, ['a  && b'], false],
      [6, 'CMD', {}, ['node', 'x.js'], true],
    ]);
  });

  it('copies what the context sends after .dockerignore, runs steps in WORKDIR with ENV, and copies between stages', async () => {
    const dir = context({
      '.dockerignore': '*\n!src\n',
      'src/a.txt': 'a',
      'src/sub/b.txt': 'b',
      'README.md': 'not sent',
      Dockerfile: 'FROM base AS one\nWORKDIR /w\nCOPY . .\nENV GREETING=hi\nRUN echo "$GREETING" > out.txt && ls -R > list.txt\nFROM base\nWORKDIR /app\nCOPY --from=one /w/out.txt ./copied/\nUSER node\nCMD ["node", "main.js"]\n',
    });
    const built = await build(dir);
    expect(built.failed).toBeUndefined();
    const [one, two] = built.stages;
    expect(fs.readFileSync(hostPath(one, '/w/out.txt'), 'utf8')).toBe('hi\n');
    expect(fs.readFileSync(hostPath(one, '/w/list.txt'), 'utf8')).not.toMatch(/README|Dockerfile|dockerignore/);
    expect(fs.readFileSync(hostPath(one, '/w/src/sub/b.txt'), 'utf8')).toBe('b');
    expect(fs.readFileSync(hostPath(two, '/app/copied/out.txt'), 'utf8')).toBe('hi\n');
    expect(built.final).toMatchObject({ workdir: '/app', user: 'node', cmd: ['node', 'main.js'] });
  });

  it('records a URL ADD and writes a placeholder with mode 600 unless --chmod is given', async () => {
    const dir = context({ Dockerfile: 'FROM base\nADD https://example.com/a.pem /etc/a.pem\nADD --chmod=644 https://example.com/b.pem /etc/certs/\n' });
    const built = await build(dir);
    expect(built.remote.map((r) => [r.dest, r.mode.toString(8)])).toEqual([
      ['/etc/a.pem', '600'],
      ['/etc/certs/b.pem', '644'],
    ]);
    expect(fs.statSync(hostPath(built.final, '/etc/certs/b.pem')).mode & 0o777).toBe(0o644);
  });

  it('stops at the first failing step, with its output', async () => {
    const built = await build(context({ Dockerfile: 'FROM base\nRUN echo about to fail && exit 3\nRUN echo never\n' }));
    expect(built.steps.map((s) => s.ok)).toEqual([true, false]);
    expect(built.failed?.output).toMatch(/exit code 3[\s\S]*about to fail/);
  });

  it('refuses what it cannot emulate rather than pass it: a RUN on an absolute path, a source missing from the context, an unknown instruction', async () => {
    expect((await build(context({ Dockerfile: 'FROM base\nRUN chmod 644 /etc/ssl/certs/x.pem\n' }))).failed?.output).toMatch(/absolute path \/etc\/ssl\/certs\/x\.pem/);
    fs.rmSync(path.join(work, 'context'), { recursive: true });
    expect((await build(context({ '.dockerignore': 'secret.txt\n', 'secret.txt': 's', Dockerfile: 'FROM base\nCOPY secret.txt ./\n' }))).failed?.output).toMatch(/secret\.txt: not found in the build context/);
    expect(() => parseDockerfile('FROM base\nHEALTHCHECK CMD true\n')).toThrow(/HEALTHCHECK is not emulated/);
  });
});
