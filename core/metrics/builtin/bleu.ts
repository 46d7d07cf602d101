/** bleu: SacreBLEU's sentence BLEU per row, its corpus BLEU per result (reference/bleu.ts). */
import { noParams } from '../params.js';
import { bleuStats, corpusBleu, sentenceBleu, type BleuStats } from '../reference/bleu.js';
import { references } from '../row-text.js';
import type { InlineMetric } from '../types.js';

export const bleu: InlineMetric = {
  name: 'bleu',
  description: 'SacreBLEU sentence BLEU (13a tokenization, exponential smoothing); corpus BLEU in the aggregates.',
  type: 'deterministic',
  require: ['output', 'output_true'],
  params: noParams,
  range: [0, 100],
  higherIsBetter: true,
  score: (i) => {
    const refs = references(i.output_true);
    const out = sentenceBleu(i.output, refs);
    const st = bleuStats(i.output, refs);
    return { score: out.score, observation: { precisions: out.precisions, bp: out.bp, sys_len: out.sysLen, ref_len: out.refLen, corpus_stats: [...st.correct, ...st.total, st.sysLen, st.refLen] } };
  },
  // The corpus_stats laid out above, summed over the rows: SacreBLEU's corpus BLEU is not the mean of sentence scores.
  corpusScore: (stats) => {
    const n = stats.length / 2 - 1;
    const summed: BleuStats = { correct: stats.slice(0, n), total: stats.slice(n, 2 * n), sysLen: stats[2 * n], refLen: stats[2 * n + 1] };
    return corpusBleu([summed]).score;
  },
};
