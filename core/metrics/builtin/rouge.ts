/** rouge: the F-measure of Google's rouge-score (reference/rouge.ts), precision and recall in the observation. */
import { z } from 'zod';
import { flag } from '../params.js';
import { rouge as rougeScore, type RougeVariant } from '../reference/rouge.js';
import { text } from '../row-text.js';
import type { InlineMetric } from '../types.js';

export const rouge: InlineMetric = {
  name: 'rouge',
  description: 'ROUGE F-measure as Google\'s rouge-score defines it.',
  type: 'deterministic',
  require: ['output', 'output_true'],
  params: z.object({ variant: z.enum(['rouge1', 'rouge2', 'rougeL', 'rougeLsum']).optional(), stemming: flag }).strict(),
  range: [0, 1],
  higherIsBetter: true,
  score: (i, p) => {
    const r = rougeScore(text(i.output_true), i.output, (p.variant ?? 'rougeL') as RougeVariant, Boolean(p.stemming));
    return { score: r.fmeasure, observation: { precision: r.precision, recall: r.recall } };
  },
};
