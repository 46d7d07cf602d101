/** numeric_diff: how far the number in the output is from the expected number. */
import { z } from 'zod';
import { flag } from '../params.js';
import { text } from '../row-text.js';
import type { InlineMetric } from '../types.js';

/** The first number written in a text; "1 234,5" (spaced thousands, decimal comma) reads as 1234.5. */
const firstNumber = (s: string): number | null => {
  const m = /-?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?/i.exec(s.replace(/(\d)[\s\u00a0](?=\d{3}\b)/g, '$1'));
  return m ? Number(m[0].replace(',', '.')) : null;
};

export const numericDiff: InlineMetric = {
  name: 'numeric_diff',
  description: 'Absolute difference between the number in the output and the expected number.',
  type: 'deterministic',
  require: ['output', 'output_true'],
  params: z.object({ relative: flag }).strict(),
  range: [0, Number.POSITIVE_INFINITY],
  higherIsBetter: false,
  score: (i, p) => {
    const got = firstNumber(i.output);
    const want = typeof i.output_true === 'number' ? i.output_true : firstNumber(text(i.output_true));
    if (want === null) return { error: 'output_true holds no number' };
    if (got === null) return { score: null, observation: 'the output holds no number' };
    const diff = Math.abs(got - want);
    return { score: p.relative ? (want === 0 ? diff : diff / Math.abs(want)) : diff, observation: { output: got, output_true: want } };
  },
};
