/**
 * An MCP server's `env` and `headers` often carry credentials (a token for
 * the server, an Authorization header): like a model's api_key, they are
 * stored sealed (core/secrets.ts) and opened only in the runner. The names
 * stay readable; each value is sealed on its own.
 */
import type { McpServer } from '../schemas.js';

type Transform = (value: string) => Promise<string>;

async function mapValues(values: Record<string, string> | null | undefined, f: Transform): Promise<Record<string, string> | null | undefined> {
  if (!values) return values;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) out[name] = await f(value);
  return out;
}

/** The servers with every env and header value passed through `f` (seal at launch, open in the runner). */
export async function mapServerSecrets<T extends McpServer>(servers: readonly T[] | null | undefined, f: Transform): Promise<T[] | null | undefined> {
  if (!servers) return servers as null | undefined;
  return Promise.all(
    servers.map(async (s) => {
      if ('url' in s) return { ...s, headers: await mapValues(s.headers, f) };
      return { ...s, env: await mapValues((s as { env?: Record<string, string> | null }).env, f) };
    }),
  );
}
