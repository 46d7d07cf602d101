/**
 * Runs a registered judge with a scripted judge model: each call's prompt is
 * matched against the script, in order, and answered with the first reply
 * whose pattern it matches, so a judge of several calls (truths, then
 * verdicts; one call per chunk) can be driven step by step. Every prompt is
 * kept for the test to check.
 */
import { runJudge } from '../../core/metrics/judges.js';
import type { ScoreInput } from '../../core/metrics/types.js';
import type { ChatAnswer, ChatModel } from '../../core/providers/openai.js';

export type Script = [RegExp, string | ((prompt: string) => string)][];

const JUDGE: ChatModel = { name: 'judge', base_url: 'http://judge.invalid/v1' };

export async function scriptedJudge(name: string, params: Record<string, unknown> | null, input: ScoreInput, script: Script) {
  const prompts: string[] = [];
  const out = await runJudge(name, params, input, JUDGE, async (_model, messages) => {
    const prompt = String(messages.at(-1)!.content);
    prompts.push(prompt);
    const step = script.find(([pattern]) => pattern.test(prompt));
    if (!step) throw new Error(`no scripted reply for the prompt: ${prompt.slice(0, 300)}`);
    const answer = typeof step[1] === 'string' ? step[1] : step[1](prompt);
    const reply: ChatAnswer = { answer, think: null, nb_tokens_prompt: 100, nb_tokens_completion: 10, nb_tool_calls: null, execution_time: 1 };
    return reply;
  });
  return { out, prompts };
}

/** A JSON reply, as a judge would write it. */
export const json = (body: unknown) => JSON.stringify(body);
