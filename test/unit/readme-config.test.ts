import fs from 'node:fs';
import { VARIABLES } from '../../core/config.js';

describe('README configuration table', () => {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = new Map([...readme.matchAll(/^\| `([A-Z_]+)` \|\s*`?([^|`]*?)`?\s*\|/gm)].map((m) => [m[1], m[2].trim()]));

  it.each(Object.entries(VARIABLES))('documents %s with its default', (name, variable) => {
    expect(rows.has(name)).toBe(true);
    expect(rows.get(name)).toBe(variable.default ?? '');
  });

  it('documents no variable the code does not read', () => {
    expect([...rows.keys()].filter((name) => !(name in VARIABLES))).toEqual([]);
  });
});
