import fs from 'node:fs';
import { METRICS } from '../../core/metrics/registry.js';

describe('README metrics table', () => {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = new Map([...readme.matchAll(/^\| `([a-z0-9_]+)` \| (deterministic|ops|llm|rag) \|/gm)].map((m) => [m[1], m[2]]));
  it.each(METRICS.map((m) => [m.name, m.type] as const))('documents %s as %s', (name, type) => {
    expect(rows.get(name)).toBe(type);
  });
});
