/**
 * g_eval's first scale, kept for the experiments launched with it (their
 * stored params have no `scale`, or `scale: "1-5"`): the judge writes its own
 * evaluation steps on each row unless they are given, then scores 1–5,
 * normalized to 0–1 as (s − 1) / 4. Prompt version geval-1, unchanged.
 */
import { ask } from '../judge-prompt.js';
import { scoreIn } from '../judge-reply.js';
import { text } from '../row-text.js';
import type { JudgeScore, ScoreInput } from '../types.js';

export const ONE_TO_FIVE_VERSION = 'geval-1';

export function oneToFivePrompt(input: ScoreInput, params: Record<string, any>): string {
  return ask(
    `Evaluate the answer against these criteria: ${params.criteria}\n\n` +
      (params.evaluation_steps?.length
        ? `Follow these evaluation steps:\n${params.evaluation_steps.map((s: string, i: number) => `${i + 1}. ${s}`).join('\n')}`
        : 'First write the evaluation steps these criteria call for, then follow them.') +
      '\n\nThen give a score from 1 (does not meet the criteria) to 5 (fully meets them).',
    [['Question', text(input.query)], ...(params.use_output_true ? ([['Reference answer', text(input.output_true)]] as [string, string][]) : []), ['Answer to evaluate', input.output]],
    '{"steps": ["<step>"], "reason": "<short>", "score": <integer 1-5>}',
  );
}

export function oneToFiveScore(reply: Record<string, unknown>): JudgeScore {
  const raw = scoreIn(reply.score, 1, 5);
  return { score: (raw - 1) / 4, observation: { reason: text(reply.reason), raw_score: raw, steps: reply.steps ?? null } };
}
