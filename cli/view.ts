/**
 * `evalap view`: the web UI, served by the API at `/`. Opens the API the CLI
 * would use (--api, EVALAP_API_URL, or a local one on PORT), else starts the
 * embedded stack on PORT and keeps it up until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import type { Connection } from './connect.js';

/** The command that opens a URL in the user's browser, where the platform has one. */
const OPENER = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';

/** Opens `url` in a browser if an opener is installed; says so either way, never fails for want of one. */
function openInBrowser(url: string, env: NodeJS.ProcessEnv, say: (l: string) => void): void {
  try {
    const child = spawn(OPENER, [url], { env, stdio: 'ignore', detached: true });
    child.on('error', () => say(`(no ${OPENER} here: open the URL yourself)`));
    child.unref();
  } catch {
    say(`(no ${OPENER} here: open the URL yourself)`);
  }
}

export async function view(conn: Connection, o: { env: NodeJS.ProcessEnv; out: { write(s: string): unknown }; say: (l: string) => void; interrupted: Promise<void> }): Promise<number> {
  const url = conn.api.baseUrl.replace(/\/+$/, '') + '/';
  o.out.write(`${url}\n`);
  openInBrowser(url, o.env, o.say);
  if (!conn.embedded) return 0;
  o.say('the embedded stack serves it until Ctrl-C');
  await o.interrupted;
  return 0;
}
