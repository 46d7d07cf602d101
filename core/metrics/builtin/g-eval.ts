/**
 * g_eval, a G-Eval style rubric judge: the judge follows explicit evaluation
 * steps (or writes its own from the criteria), then scores 1–5; normalized to
 * 0–1. Without token probabilities the score is the judge's integer.
 */
import { z } from 'zod';
import { ask, jsonJudge } from '../judge-prompt.js';
import { scoreIn } from '../judge-reply.js';
import { flag } from '../params.js';
import { text } from '../row-text.js';
import type { JudgedMetric } from '../types.js';

export const gEval: JudgedMetric = {
  name: 'g_eval',
  description: 'A G-Eval style rubric judge: criteria and optional evaluation steps in params; score normalized to 0-1.',
  type: 'llm',
  require: ['query', 'output'],
  params: z
    .object({
      criteria: z.string().min(1).max(10_000),
      evaluation_steps: z.array(z.string().min(1)).max(50).optional(),
      use_output_true: flag,
    })
    .strict(),
  range: [0, 1],
  higherIsBetter: true,
  requireFromParams: (params) => (params.use_output_true ? ['output_true'] : []),
  judge: jsonJudge(
    'geval-1',
    (input, params) =>
      ask(
        `Evaluate the answer against these criteria: ${params.criteria}\n\n` +
          (params.evaluation_steps?.length
            ? `Follow these evaluation steps:\n${params.evaluation_steps.map((s: string, i: number) => `${i + 1}. ${s}`).join('\n')}`
            : 'First write the evaluation steps these criteria call for, then follow them.') +
          '\n\nThen give a score from 1 (does not meet the criteria) to 5 (fully meets them).',
        [['Question', text(input.query)], ...(params.use_output_true ? ([['Reference answer', text(input.output_true)]] as [string, string][]) : []), ['Answer to evaluate', input.output]],
        '{"steps": ["<step>"], "reason": "<short>", "score": <integer 1-5>}',
      ),
    (reply) => {
      const raw = scoreIn(reply.score, 1, 5);
      return { score: (raw - 1) / 4, observation: { reason: text(reply.reason), raw_score: raw, steps: reply.steps ?? null } };
    },
  ),
};
