/**
 * prompt_alignment, as DeepEval v3.5.9 scores it: one verdict per
 * instruction of `params.prompt_instructions`, "yes" only when the output
 * follows it completely; the score is the instructions not failed over all
 * of them (1 with no verdict), strict_mode and threshold as the family's.
 */
import { z } from 'zod';
import { ask, jsonJudge, numbered } from '../judge-prompt.js';
import { verdicts } from '../judge-reply.js';
import { text } from '../row-text.js';
import type { JudgedMetric } from '../types.js';
import { countCheck, deepevalParams, finish, reasonsOf, share } from './deepeval-score.js';

const instructionsOf = (params: Record<string, any>): string[] => params.prompt_instructions ?? [];

export const promptAlignment: JudgedMetric = {
  name: 'prompt_alignment',
  description: 'Share of the instructions in params.prompt_instructions the output follows.',
  type: 'rag',
  require: ['query', 'output'],
  params: deepevalParams({ prompt_instructions: z.array(z.string().min(1)).min(1, 'give at least one instruction').max(100) }),
  range: [0, 1],
  higherIsBetter: true,
  judge: jsonJudge(
    'prompt-alignment-1',
    (input, params) =>
      ask(
        'The answer below was written under the numbered instructions, which you see but its author may not have. For each instruction, in order, say whether the answer follows it completely ("yes") or not ("no"); be demanding before saying "yes". ' +
          'Give a reason for each "no". Give exactly one verdict per instruction.',
        [['Instructions', numbered(instructionsOf(params))], ['Question', text(input.query)], ['Answer', input.output]],
        '{"verdicts": [{"verdict": "yes" | "no", "reason": "<short, for a no>"}]}',
      ),
    (reply, _input, params) => {
      const items = verdicts(reply, 'verdicts', ['yes', 'no']);
      const expected = instructionsOf(params).length;
      return finish(share(items, (v) => v !== 'no', 1), params, true, { verdicts: items }, reasonsOf(items, (v) => v === 'no'), countCheck('instructions', expected, items.length));
    },
  ),
};
