/**
 * Every server of `npm start` must be reachable from this machine only: the
 * local stack has no authentication on PostgreSQL's port from loopback, none
 * on the SQS server, and an open API when no key is set. So the test lists
 * every listening TCP socket and every unconnected UDP socket held by the
 * stack's process and all its descendants, whatever started them, and a
 * server added later is checked without changing this file.
 *
 * Sockets are found the way `ss -p` does, without needing it installed:
 * /proc/<pid>/net/{tcp,tcp6,udp,udp6} list the sockets of the network
 * namespace with their inode, and /proc/<pid>/fd/* link to `socket:[inode]`
 * for the sockets a process holds (see proc(5)).
 */
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../local/ports.js';
import { waitUntil } from '../support/runner.js';

jest.setTimeout(120_000);

interface ListeningSocket {
  protocol: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  address: string;
  port: number;
  pid: number;
  command: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1']);
const TCP_LISTEN = '0A';

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process ended while we looked
  }
}

/** `pid` and every process below it, from the parent pid in /proc/<pid>/stat. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOrUndefined(`/proc/${entry}/stat`);
    if (!stat) continue;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  for (const queue = [root]; queue.length; ) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** The socket inodes a process holds open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** The bytes of a /proc/net address word: each 32-bit word is printed in host byte order. */
function addressBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8).match(/../g)!.map((b) => parseInt(b, 16));
    bytes.push(...(os.endianness() === 'LE' ? word.reverse() : word));
  }
  return bytes;
}

function formatAddress(hex: string): string {
  const bytes = addressBytes(hex);
  if (bytes.length === 4) return bytes.join('.');
  const isZero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (isZero(0, 16)) return '::';
  if (isZero(0, 15) && bytes[15] === 1) return '::1';
  // An IPv4-mapped address binds exactly that IPv4 address.
  if (isZero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/**
 * The listening TCP sockets and unconnected UDP sockets (which take datagrams
 * from anyone who can reach their address) held by `root` and its descendants.
 */
function listeningSockets(root: number): ListeningSocket[] {
  const found = new Map<string, ListeningSocket>();
  for (const pid of processTree(root)) {
    const inodes = socketInodes(pid);
    if (inodes.size === 0) continue;
    const command = (readOrUndefined(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
    for (const protocol of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      const table = readOrUndefined(`/proc/${pid}/net/${protocol}`) ?? '';
      for (const line of table.trim().split('\n').slice(1)) {
        const [, local, remote, state, , , , , , inode] = line.trim().split(/\s+/);
        if (!inodes.has(inode!) || found.has(`${protocol}:${inode}`)) continue;
        const listening = protocol.startsWith('tcp') ? state === TCP_LISTEN : /^0+:0+$/.test(remote!);
        if (!listening) continue;
        const [addressHex, portHex] = local!.split(':');
        found.set(`${protocol}:${inode}`, { protocol, address: formatAddress(addressHex!), port: parseInt(portHex!, 16), pid, command });
      }
    }
  }
  return [...found.values()];
}

const exposed = (sockets: ListeningSocket[]) => sockets.filter((s) => !LOOPBACK.has(s.address));
const describeSocket = (s: ListeningSocket) => `${s.protocol} ${s.address}:${s.port} (pid ${s.pid}: ${s.command})`;

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve(proc.exitCode) : proc.once('exit', resolve)));
}

describe('the local platform', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-loopback-'));
  let stack: ChildProcess | undefined;
  let output = '';
  afterAll(async () => {
    if (stack && stack.exitCode === null && stack.signalCode === null) {
      stack.kill('SIGINT');
      await exited(stack);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens on loopback addresses only, in every process it starts', async () => {
    const ports = { api: await freePort(), postgres: await freePort(), sqs: await freePort() };
    // As `npm start` runs it; a fresh environment so the test run's own servers are not reused.
    stack = spawn(process.execPath, ['dist/local/main.js'], {
      env: {
        PATH: process.env.PATH!,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        EVALAP_DATA_DIR: dataDir,
        PORT: String(ports.api),
        EVALAP_PG_PORT: String(ports.postgres),
        EVALAP_SQS_PORT: String(ports.sqs),
        RUNNER_POLL_WAIT_SEC: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stack.stdout!.on('data', (d) => (output += d));
    stack.stderr!.on('data', (d) => (output += d));
    const stopped = exited(stack);
    // Healthy means the database, the queue and the runner all answered: everything has started.
    await waitUntil(async () => {
      if (stack!.exitCode !== null) throw new Error(`the stack exited (${stack!.exitCode}): ${output.slice(-2000)}`);
      const res = await fetch(`http://127.0.0.1:${ports.api}/health`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 60_000, 'the stack to be healthy');

    const sockets = listeningSockets(stack.pid!);
    expect(exposed(sockets).map(describeSocket)).toEqual([]);
    const tcpPorts = new Set(sockets.filter((s) => s.protocol.startsWith('tcp')).map((s) => s.port));
    expect({ api: tcpPorts.has(ports.api), postgres: tcpPorts.has(ports.postgres), sqs: tcpPorts.has(ports.sqs) }).toEqual({ api: true, postgres: true, sqs: true });

    stack.kill('SIGINT');
    expect(await stopped).toBe(0);
  });
});

describe('the listening-socket inspection this test relies on', () => {
  it('finds a server bound to all interfaces in a grandchild process, and one bound to loopback', async () => {
    // A child that starts a grandchild; the grandchild binds a wildcard TCP
    // server, a wildcard UDP socket and two loopback TCP servers, then prints their ports.
    const grandchild = `
      const net = require('node:net'), dgram = require('node:dgram');
      const open = net.createServer().listen(0, '0.0.0.0', () => {
        const udp = dgram.createSocket('udp6').bind(0, '::', () => {
          const local = net.createServer().listen(0, '127.0.0.1', () => {
            const local6 = net.createServer().listen(0, '::1', () => {
              const port = (s) => s.address().port;
              console.log(JSON.stringify({ open: port(open), udp: port(udp), local: port(local), local6: port(local6) }));
            });
          });
        });
      });
      process.stdin.resume().on('end', () => process.exit(0));`;
    const child = spawn(process.execPath, ['-e', `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' })`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const ports = await new Promise<{ open: number; udp: number; local: number; local6: number }>((resolve, reject) => {
        child.stdout!.once('data', (d) => resolve(JSON.parse(String(d))));
        child.once('exit', (code) => reject(new Error(`the probe exited (${code})`)));
      });
      const sockets = listeningSockets(child.pid!);
      expect(exposed(sockets).map((s) => [s.protocol, s.address, s.port]).sort()).toEqual([
        ['tcp', '0.0.0.0', ports.open],
        ['udp6', '::', ports.udp],
      ]);
      expect(sockets.filter((s) => s.port === ports.local).map((s) => [s.protocol, s.address])).toEqual([['tcp', '127.0.0.1']]);
      expect(sockets.filter((s) => s.port === ports.local6).map((s) => [s.protocol, s.address])).toEqual([['tcp6', '::1']]);
      expect(sockets.every((s) => s.pid !== child.pid)).toBe(true);
    } finally {
      child.stdin!.end();
      await exited(child);
    }
  });
});
