/** chrf: SacreBLEU's chrF (chrF++ with word_order 2) per row, its corpus chrF per result (reference/chrf.ts). */
import { z } from 'zod';
import { chrfFromStats, chrfOptions, chrfStats } from '../reference/chrf.js';
import { references } from '../row-text.js';
import type { InlineMetric } from '../types.js';

export const chrf: InlineMetric = {
  name: 'chrf',
  description: 'SacreBLEU chrF (character order 6, beta 2); chrF++ with params.word_order=2.',
  type: 'deterministic',
  require: ['output', 'output_true'],
  params: z.object({ word_order: z.union([z.literal(0), z.literal(2)]).optional() }).strict(),
  range: [0, 100],
  higherIsBetter: true,
  score: (i, p) => {
    const o = chrfOptions(p.word_order ?? 0);
    const stats = chrfStats(i.output, references(i.output_true), o);
    return { score: chrfFromStats(stats, o), observation: { corpus_stats: stats } };
  },
  // Corpus chrF from the summed statistics, which is not the mean of sentence scores.
  corpusScore: (stats, params) => chrfFromStats(stats, chrfOptions(Number(params?.word_order ?? 0))),
};
