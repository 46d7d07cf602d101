/**
 * README.md's settings table ("## Deploy to AWS", "### Settings (CDK
 * context)") and cdk/settings.ts list the same settings with the same
 * defaults (and the production profile's, where it differs).
 */
import fs from 'node:fs';
import { SETTINGS } from '../../cdk/settings.js';
import { repoRoot } from './synth.js';

/** Rows `| \`name\` | default | what |` of the settings table. */
function settingsRows(): Map<string, { defaults: string; doc: string }> {
  const readme = fs.readFileSync(`${repoRoot}/README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Deploy to AWS\n'));
  const start = section.indexOf('\n### Settings (CDK context)\n');
  expect(start).toBeGreaterThan(0);
  const table = section.slice(start, section.indexOf('\n### ', start + 1));
  return new Map([...table.matchAll(/^\| `([A-Za-z]+)` \| ([^|]*) \| (.+) \|$/gm)].map((m) => [m[1], { defaults: m[2].trim(), doc: m[3] }]));
}

describe('README settings table', () => {
  const rows = settingsRows();

  it('lists every setting of cdk/settings.ts, and stackName, and nothing else', () => {
    expect([...rows.keys()].sort()).toEqual([...Object.keys(SETTINGS), 'stackName'].sort());
  });

  it.each(Object.entries(SETTINGS))('gives %s its default (and its production default)', (name, setting) => {
    const { defaults } = rows.get(name)!;
    const def = (setting as { default: unknown }).default;
    if (def !== undefined) expect(defaults).toMatch(new RegExp(`^\`${String(def).replace('.', '\\.')}\``));
    else expect(defaults).not.toMatch(/^`/);
    if ('production' in setting) expect(defaults).toContain(`production: \`${String(setting.production)}\``);
    else expect(defaults).not.toContain('production:');
  });
});
