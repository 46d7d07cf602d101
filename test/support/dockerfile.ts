/**
 * Builds a Dockerfile without Docker: parses it, then runs its steps on this
 * machine, each stage in a folder of its own that stands for the stage's file
 * system root. What it cannot do it refuses loudly (an instruction or flag it
 * does not know, a RUN that names an absolute path it cannot map), so a
 * Dockerfile that grows past it fails the test instead of passing untested.
 *
 * Not emulated: the base image's contents (RUN uses this machine's shell,
 * node and npm), users and ownership (USER is recorded), the network (a URL
 * ADD is recorded and a placeholder written in its place).
 *
 * Semantics follow the Dockerfile reference
 * (https://docs.docker.com/reference/dockerfile/): COPY of a directory copies
 * its contents; a file ADDed from a URL gets mode 600 unless --chmod is
 * given; `<Dockerfile>.dockerignore` beside the Dockerfile takes precedence
 * over the context's `.dockerignore`
 * (https://docs.docker.com/build/concepts/context/#dockerignore-files).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { IgnoreStrategy } from 'aws-cdk-lib';

export interface Instruction {
  line: number;
  keyword: string;
  flags: Record<string, string>;
  /** Exec (JSON) form: the array; shell form: the words, or for RUN/CMD/ENTRYPOINT the whole command as one string. */
  args: string[];
  execForm: boolean;
  text: string;
}

export interface Step {
  stage: string;
  line: number;
  text: string;
  ok: boolean;
  /** The tail of a RUN's output, or the reason a step failed. */
  output: string;
  ms: number;
}

export interface StageState {
  name: string;
  image: string;
  platform?: string;
  /** The folder standing for the stage's `/`. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  cmd?: string[];
  entrypoint?: string[];
}

export interface RemoteAdd {
  stage: string;
  url: string;
  /** Path in the image. */
  dest: string;
  mode: number;
}

export interface DockerfileBuild {
  steps: Step[];
  stages: StageState[];
  final: StageState;
  remote: RemoteAdd[];
  /** The step that stopped the build, as `docker build` stops at the first failure. */
  failed?: Step;
}

export interface BuildOptions {
  context: string;
  /** Relative to the context. */
  dockerfile: string;
  /** An empty folder for the stages' roots. */
  into: string;
  /** Environment of RUN steps under the stages' ENV: PATH, npm settings... */
  env: Record<string, string>;
  /** Host folders standing for `RUN --mount=type=cache,target=…` targets (default: a folder kept for the build). */
  caches?: Record<string, string>;
  /** Content of the placeholder written where a URL is ADDed. */
  placeholder?: (url: string) => string;
}

const KNOWN = new Set(['FROM', 'WORKDIR', 'COPY', 'ADD', 'RUN', 'ENV', 'ARG', 'USER', 'CMD', 'ENTRYPOINT', 'LABEL', 'EXPOSE']);
const FLAGS: Record<string, Set<string>> = {
  FROM: new Set(['platform']),
  COPY: new Set(['from', 'chmod', 'chown', 'link']),
  ADD: new Set(['chmod', 'chown', 'link', 'checksum']),
  RUN: new Set(['mount']),
};

/** Logical lines (continuations joined, comments and blank lines dropped) as instructions. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    if (pending === '') startLine = i + 1;
    const continued = /\\[ \t]*$/.test(raw);
    pending += continued ? raw.replace(/\\[ \t]*$/, '') : raw;
    if (!continued) {
      out.push(parseInstruction(pending.trim(), startLine));
      pending = '';
    }
  });
  if (pending !== '') throw new Error(`Dockerfile ends inside a continued line (from line ${startLine})`);
  return out;
}

function parseInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(text)!;
  const keyword = match[1].toUpperCase();
  if (!KNOWN.has(keyword)) throw new Error(`line ${line}: instruction ${keyword} is not emulated`);
  let rest = match[2];
  const flags: Record<string, string> = {};
  for (let flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); flag; flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
    if (!FLAGS[keyword]?.has(flag[1])) throw new Error(`line ${line}: ${keyword} --${flag[1]} is not emulated`);
    flags[flag[1]] = flag[2] ?? 'true';
    rest = rest.slice(flag[0].length);
  }
  if (rest.startsWith('[')) {
    try {
      const args = JSON.parse(rest) as unknown;
      if (Array.isArray(args) && args.every((a) => typeof a === 'string')) return { line, keyword, flags, args, execForm: true, text };
    } catch {
      // Not JSON: Docker reads it as the shell form.
    }
  }
  const whole = keyword === 'RUN' || keyword === 'CMD' || keyword === 'ENTRYPOINT';
  return { line, keyword, flags, args: whole ? [rest] : words(rest), execForm: false, text };
}

/** Shell-like words: quotes group, a backslash escapes the next character. */
function words(s: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === '"' || c === "'") {
      const end = s.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c} in: ${s}`);
      const inner = s.slice(i + 1, end);
      word = (word ?? '') + (c === '"' ? inner.replace(/\\(["\\$])/g, '$1') : inner);
      i = end;
    } else if (c === '\\' && i + 1 < s.length) {
      word = (word ?? '') + s[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** `$NAME`, `${NAME}` and `${NAME:-default}` from the stage's variables (build args, then ENV). */
function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced, fallback, bare) => {
    const value = vars[braced ?? bare];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}

/** A path of the image, in this stage's folder. */
export function hostPath(stage: StageState, imagePath: string): string {
  return path.join(stage.root, path.posix.resolve(stage.workdir, imagePath));
}

/** The stage's ENV for a process on this machine: a value naming a file or folder of the image points into the stage's folder. */
export function hostEnv(stage: StageState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(stage.env)) out[k] = v.startsWith('/') && fs.existsSync(path.join(stage.root, v)) ? path.join(stage.root, v) : v;
  return out;
}

function homeOf(user: string | undefined): string {
  return user === undefined || user === 'root' || user === '0' ? '/root' : `/home/${user}`;
}

/** What `docker build` would send: the context's files minus the ignore file's matches. */
function contextFilter(context: string, dockerfile: string): (abs: string) => boolean {
  const own = path.join(context, `${dockerfile}.dockerignore`);
  const file = fs.existsSync(own) ? own : path.join(context, '.dockerignore');
  if (!fs.existsSync(file)) return () => true;
  const ignore = IgnoreStrategy.docker(context, fs.readFileSync(file, 'utf8').split(/\r?\n/));
  return (abs) => abs === context || !ignore.ignores(abs);
}

/** Copies a file or a directory's contents (the files `keep` accepts), applying `mode` when given. Returns how many files it copied. */
function copyTree(src: string, dest: string, keep: (abs: string) => boolean, mode?: number): number {
  const stat = fs.statSync(src);
  if (!stat.isDirectory()) {
    if (!keep(src)) return 0;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(src, dest);
    fs.chmodSync(dest, mode ?? stat.mode & 0o7777);
    return 1;
  }
  let copied = 0;
  for (const entry of fs.readdirSync(src)) copied += copyTree(path.join(src, entry), path.join(dest, entry), keep, mode);
  if (copied > 0 || keep(src)) fs.mkdirSync(dest, { recursive: true });
  return copied;
}

/** A path inside `root` for a source path (no escaping it with `..`). */
function under(root: string, p: string): string {
  return path.join(root, path.posix.join('/', p));
}

function run(argv: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const proc = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    proc.on('error', (err) => resolve({ code: null, output: `${output}\n${err.message}` }));
    proc.on('close', (code) => resolve({ code, output }));
  });
}

/** Runs the Dockerfile's steps in order; stops at the first failing one. */
export async function buildDockerfile(options: BuildOptions): Promise<DockerfileBuild> {
  const instructions = parseDockerfile(fs.readFileSync(path.join(options.context, options.dockerfile), 'utf8'));
  const inContext = contextFilter(options.context, options.dockerfile);
  const stages: StageState[] = [];
  const steps: Step[] = [];
  const remote: RemoteAdd[] = [];
  const globalArgs: Record<string, string> = {};
  let stageArgs: Record<string, string> = {};
  let stage: StageState | undefined;

  const stageNamed = (ref: string) => stages.find((s) => s.name === ref) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);

  const execute = async (ins: Instruction): Promise<string> => {
    const vars = { ...globalArgs, ...stageArgs, ...(stage?.env ?? {}) };
    const args = ins.keyword === 'RUN' || ins.keyword === 'CMD' || ins.keyword === 'ENTRYPOINT' ? ins.args : ins.args.map((a) => expand(a, vars));
    if (ins.keyword === 'ARG') {
      for (const a of args) {
        const [k, ...v] = a.split('=');
        (stage ? stageArgs : globalArgs)[k] = v.length > 0 ? v.join('=') : (globalArgs[k] ?? '');
      }
      return '';
    }
    if (ins.keyword === 'FROM') {
      const [image, as, name] = args;
      if (!(args.length === 1 || (args.length === 3 && as.toUpperCase() === 'AS'))) throw new Error(`FROM takes an image and an optional AS name: ${ins.text}`);
      const index = stages.length;
      const base = stageNamed(image);
      const root = path.join(options.into, `stage-${index}${name ? `-${name}` : ''}`);
      if (base) fs.cpSync(base.root, root, { recursive: true, verbatimSymlinks: true });
      else fs.mkdirSync(root, { recursive: true });
      stage = { name: name ?? String(index), image, platform: ins.flags.platform, root, workdir: base?.workdir ?? '/', env: { ...(base?.env ?? {}) }, user: base?.user };
      stageArgs = {};
      stages.push(stage);
      return '';
    }
    if (!stage) throw new Error(`${ins.keyword} before any FROM`);
    const current = stage;
    switch (ins.keyword) {
      case 'WORKDIR':
        current.workdir = path.posix.resolve(current.workdir, args.join(' '));
        fs.mkdirSync(hostPath(current, current.workdir), { recursive: true });
        return '';
      case 'ENV': {
        const pairs = args[0]?.includes('=') ? args.map((a) => a.split(/=(.*)/s, 2) as [string, string]) : [[args[0], args.slice(1).join(' ')] as [string, string]];
        for (const [k, v] of pairs) current.env[k] = v ?? '';
        return '';
      }
      case 'USER':
        current.user = args[0];
        return '';
      case 'CMD':
        current.cmd = ins.execForm ? args : ['/bin/sh', '-c', args[0]];
        return '';
      case 'ENTRYPOINT':
        current.entrypoint = ins.execForm ? args : ['/bin/sh', '-c', args[0]];
        return '';
      case 'LABEL':
      case 'EXPOSE':
        return '';
      case 'COPY':
      case 'ADD':
        return copy(ins, args, current);
      case 'RUN':
        return runStep(ins, current);
    }
    throw new Error(`${ins.keyword} is not emulated`);
  };

  const copy = (ins: Instruction, args: string[], current: StageState): string => {
    if (args.length < 2) throw new Error(`${ins.keyword} needs a source and a destination`);
    const sources = args.slice(0, -1);
    const destArg = args.at(-1)!;
    const mode = ins.flags.chmod !== undefined ? parseInt(ins.flags.chmod, 8) : undefined;
    const dest = hostPath(current, destArg);
    const intoDir = destArg.endsWith('/') || destArg === '.' || sources.length > 1 || (fs.existsSync(dest) && fs.statSync(dest).isDirectory());
    for (const src of sources) {
      if (/^https?:\/\//.test(src)) {
        if (ins.keyword !== 'ADD') throw new Error('only ADD takes a URL');
        const target = intoDir ? path.posix.join(path.posix.resolve(current.workdir, destArg), path.posix.basename(new URL(src).pathname)) : path.posix.resolve(current.workdir, destArg);
        const file = path.join(current.root, target);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, options.placeholder?.(src) ?? `placeholder for ${src}\n`);
        fs.chmodSync(file, mode ?? 0o600);
        remote.push({ stage: current.name, url: src, dest: target, mode: mode ?? 0o600 });
        continue;
      }
      if (/[*?[]/.test(src)) throw new Error(`wildcard sources are not emulated: ${src}`);
      if (ins.keyword === 'ADD' && /\.(tar|tgz|tar\.\w+)$/.test(src)) throw new Error(`ADD of an archive (extracted by Docker) is not emulated: ${src}`);
      const fromStage = ins.flags.from !== undefined ? stageNamed(ins.flags.from) : undefined;
      if (ins.flags.from !== undefined && !fromStage) throw new Error(`COPY --from=${ins.flags.from}: no such earlier stage (images are not emulated)`);
      const from = fromStage ? under(fromStage.root, src) : under(options.context, src);
      const keep = fromStage ? () => true : inContext;
      if (!fs.existsSync(from) || (!fs.statSync(from).isDirectory() && !keep(from))) throw new Error(`${src}: not found${fromStage ? ` in stage ${fromStage.name}` : ' in the build context (or excluded by its .dockerignore)'}`);
      const isDir = fs.statSync(from).isDirectory();
      copyTree(from, isDir || !intoDir ? dest : path.join(dest, path.basename(from)), keep, mode);
    }
    return '';
  };

  const runStep = async (ins: Instruction, current: StageState): Promise<string> => {
    const command = ins.args;
    if (!ins.execForm) {
      // Only the stage's folder stands for `/`: a path like /etc/... would be this machine's.
      const absolute = /(?:^|[\s='"(])(\/[A-Za-z][^\s'"]*)/.exec(command[0]);
      if (absolute) throw new Error(`RUN names the absolute path ${absolute[1]}, which this emulator cannot map into the stage: keep RUN steps relative to WORKDIR`);
    }
    const home = homeOf(current.user);
    fs.mkdirSync(hostPath(current, home), { recursive: true });
    // A cache mount is a folder outside the image that persists between builds: linked in for this step only.
    const mounts: string[] = [];
    if (ins.flags.mount !== undefined) {
      const spec = Object.fromEntries(ins.flags.mount.split(',').map((kv) => kv.split('=', 2) as [string, string]));
      if (spec.type !== 'cache' || !spec.target) throw new Error(`RUN --mount=${ins.flags.mount}: only type=cache with a target is emulated`);
      const target = hostPath(current, spec.target);
      if (fs.existsSync(target)) throw new Error(`RUN --mount target ${spec.target} exists in the stage; the emulator links the cache there`);
      const cache = options.caches?.[spec.target] ?? path.join(options.into, 'caches', spec.id ?? spec.target.replaceAll('/', '_'));
      fs.mkdirSync(cache, { recursive: true });
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.symlinkSync(cache, target);
      mounts.push(target);
    }
    try {
      const env = { ...options.env, HOME: hostPath(current, home), ...hostEnv(current) };
      const argv = ins.execForm ? command : ['sh', '-c', command[0]];
      const { code, output } = await run(argv, hostPath(current, current.workdir), env);
      if (code !== 0) throw Object.assign(new Error(`exit code ${code}`), { output });
      return output;
    } finally {
      for (const m of mounts) fs.unlinkSync(m);
    }
  };

  for (const ins of instructions) {
    const step: Step = { stage: stage?.name ?? '', line: ins.line, text: ins.text, ok: true, output: '', ms: 0 };
    const started = Date.now();
    try {
      step.output = (await execute(ins)).slice(-2000);
    } catch (err) {
      step.ok = false;
      const output = (err as { output?: string }).output;
      step.output = `${(err as Error).message}${output ? `\n${output.slice(-4000)}` : ''}`;
    }
    step.stage = stage?.name ?? step.stage;
    step.ms = Date.now() - started;
    steps.push(step);
    if (!step.ok) return { steps, stages, final: stages.at(-1)!, remote, failed: step };
  }
  if (!stage) throw new Error('the Dockerfile has no FROM');
  return { steps, stages, final: stage, remote };
}
