/**
 * DeepEval's truths step (faithfulness, summarization): the facts a source
 * text states, at most `truths_extraction_limit` of them, against which the
 * claims of an output are then judged.
 */
import { ask } from '../judge-prompt.js';
import { parseJudgeReply, strings } from '../judge-reply.js';
import type { AskJudge } from '../types.js';

/** The prompt asking for the facts a text states, at most `limit` of them when given (DeepEval's truths step). */
export function truthsPrompt(source: string, limit: number | undefined): string {
  const how = limit === undefined ? 'every fact' : limit === 1 ? 'the single most important fact' : `the ${limit} most important facts`;
  return ask(
    `Extract ${how} the text below states, each as a sentence that stands on its own and keeps the context it was given in. Take the text at face value: whether a fact is true does not matter, and nothing you know beyond the text belongs in the list.`,
    [['Text', source]],
    '{"truths": ["<fact>"]}',
  );
}

/** The facts the judge extracted, or none when the limit is 0 (no call is made). */
export async function extractTruths(askJudge: AskJudge, source: string, limit: number | undefined): Promise<string[]> {
  const clamped = limit === undefined ? undefined : Math.max(limit, 0);
  if (clamped === 0) return [];
  return strings(parseJudgeReply(await askJudge(truthsPrompt(source, clamped))), 'truths');
}

