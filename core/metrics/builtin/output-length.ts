/** output_length: the number of words in the output. */
import { noParams } from '../params.js';
import type { InlineMetric } from '../types.js';

export const outputLength: InlineMetric = {
  name: 'output_length',
  description: 'Number of words in the output.',
  type: 'deterministic',
  require: ['output'],
  params: noParams,
  range: [0, Number.POSITIVE_INFINITY],
  higherIsBetter: true,
  score: (i) => ({ score: i.output.split(/\s+/).filter(Boolean).length, observation: null }),
};
