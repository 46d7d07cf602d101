/**
 * The JSON lines a piece of code prints on stdout and stderr, as Lambda's
 * log stream receives them (Powertools Logger and Metrics write there).
 */
import { jest } from '@jest/globals';

export async function printedLines<T>(run: () => Promise<T>): Promise<{ result: T; raw: string; lines: Record<string, any>[] }> {
  const chunks: string[] = [];
  const keep = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(keep as never);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(keep as never);
  try {
    const result = await run();
    const raw = chunks.join('');
    const lines = raw.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    return { result, raw, lines };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
