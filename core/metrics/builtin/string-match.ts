/** The output compared with the expected output, or a pattern, as strings: 1 on a match, else 0. */
import { z } from 'zod';
import { flag } from '../params.js';
import { text } from '../row-text.js';
import type { InlineMetric } from '../types.js';

const OUT_TRUE = ['output', 'output_true'] as const;

function normalize(s: string, p: { ignore_case?: boolean; ignore_whitespace?: boolean; ignore_punctuation?: boolean }): string {
  let out = s.trim();
  if (p.ignore_case) out = out.toLowerCase();
  if (p.ignore_punctuation) out = out.replace(/[\p{P}\p{S}]/gu, '');
  if (p.ignore_whitespace) out = out.replace(/\s+/g, ' ').trim();
  return out;
}

/** A 0/1 comparison of the normalized output with the normalized expected output. */
const comparison = (name: string, description: string, params: z.ZodType, match: (output: string, expected: string) => boolean): InlineMetric => ({
  name,
  description,
  type: 'deterministic',
  require: OUT_TRUE,
  params,
  range: [0, 1],
  higherIsBetter: true,
  score: (i, p) => ({ score: match(normalize(i.output, p), normalize(text(i.output_true), p)) ? 1 : 0, observation: null }),
});

export const stringMatch: readonly InlineMetric[] = [
  comparison(
    'exact_match',
    'Whether the output equals the expected output, after optional normalization.',
    z.object({ ignore_case: flag, ignore_whitespace: flag, ignore_punctuation: flag }).strict(),
    (output, expected) => output === expected,
  ),
  comparison('contains', 'Whether the output contains the expected output.', z.object({ ignore_case: flag }).strict(), (output, expected) => output.includes(expected)),
  comparison('starts_with', 'Whether the output starts with the expected output.', z.object({ ignore_case: flag }).strict(), (output, expected) => output.startsWith(expected)),
  {
    name: 'regex',
    description: 'Whether the output matches the regular expression in params.pattern.',
    type: 'deterministic',
    require: ['output'],
    params: z
      .object({
        pattern: z.string().min(1).max(10_000).refine((p) => {
          try {
            new RegExp(p);
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression'),
        flags: z.string().regex(/^[imsu]*$/, 'allowed flags: i, m, s, u').optional(),
      })
      .strict(),
    range: [0, 1],
    higherIsBetter: true,
    score: (i, p) => ({ score: new RegExp(p.pattern, p.flags ?? '').test(i.output) ? 1 : 0, observation: null }),
  },
];
