/**
 * Which API a command talks to: --api or EVALAP_API_URL; else a local API
 * already answering on PORT (a running `npm start`); else the embedded stack,
 * started for this command and stopped after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { createLogger } from '../core/logger.js';
import { startPlatform } from '../local/platform.js';
import { ApiClient } from './client.js';
import { CliError, ExitCode } from './errors.js';

export interface Connection {
  api: ApiClient;
  /** Set when the CLI started the embedded stack. */
  embedded: boolean;
  close(): Promise<void>;
}

/** `port`: where the embedded stack's API listens, when one is started (default: any free port, the stack lives as long as the command). */
export async function connect(config: Config, apiFlag: string | undefined, env: NodeJS.ProcessEnv, say: (line: string) => void, port = 0): Promise<Connection> {
  const url = apiFlag ?? config.EVALAP_API_URL;
  if (url) return { api: new ApiClient(url, config.EVALAP_API_KEY), embedded: false, close: async () => undefined };
  const local = new ApiClient(`http://127.0.0.1:${config.PORT}`, config.EVALAP_API_KEY);
  if (await local.healthy()) return { api: local, embedded: false, close: async () => undefined };

  say(`starting the embedded stack (data in ${config.EVALAP_DATA_DIR}; logs in ${path.join(config.EVALAP_DATA_DIR, 'cli.log')})...`);
  fs.mkdirSync(config.EVALAP_DATA_DIR, { recursive: true });
  const log = fs.createWriteStream(path.join(config.EVALAP_DATA_DIR, 'cli.log'), { flags: 'a' });
  const write = (line: string) => void log.write(line + '\n');
  let platform;
  try {
    // A short poll: the runner's stop waits for its poll to return, and the user waits for the stop.
    platform = await startPlatform({ ...config, PORT: port, HOST: '127.0.0.1' }, createLogger({ level: 'info', write }), { RUNNER_POLL_WAIT_SEC: '1', ...env }, write);
  } catch (err) {
    log.end();
    throw new CliError(`cannot start the embedded stack: ${(err as Error).message}`, ExitCode.failed);
  }
  const api = new ApiClient(platform.url, config.EVALAP_API_KEY);
  // The runner joins a moment after the API: wait until /health says every part is up.
  const deadline = Date.now() + 30_000;
  while (!(await api.healthy())) {
    if (Date.now() > deadline) {
      await platform.stop();
      throw new CliError('the embedded stack did not become healthy within 30 s; see cli.log', ExitCode.failed);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    api,
    embedded: true,
    close: async () => {
      await platform.stop();
      log.end();
    },
  };
}
