/**
 * Calling a judge: the LLM-as-judge and RAG metrics (builtin/) each hold a
 * versioned prompt and a rule turning the judge's reply into a score; this
 * sends that prompt to the judge model and records the outcome. Every
 * observation stores the prompt version, the judge's reply or reason and its
 * token usage, so a score can be audited and prompts can evolve without
 * mixing results.
 */
import type { ChatAnswer, ChatMessage, ChatModel } from '../providers/openai.js';
import { JudgeReplyError } from './judge-reply.js';
import { getMetric } from './registry.js';
import type { JudgeSpec, ScoreInput } from './types.js';

/** Evalap's judges sample at this temperature unless the judge model's sampling_params say otherwise (evalap/api/metrics/judge_*.py, `_config`). */
const JUDGE_TEMPERATURE = 0.2;

/** The judge model as it is called: temperature 0.2 unless its own sampling_params set one. */
export function judgeModel(model: ChatModel): ChatModel {
  return { ...model, sampling_params: { temperature: JUDGE_TEMPERATURE, ...(model.sampling_params ?? {}) } };
}

/** The messages sent to the judge: the model's system_prompt (else the judge's own, if any), then the prompt. */
export function judgeMessages(spec: JudgeSpec, model: Pick<ChatModel, 'system_prompt'>, input: ScoreInput, params: Record<string, any>): ChatMessage[] {
  const system = model.system_prompt || spec.system;
  const user: ChatMessage = { role: 'user', content: spec.prompt(input, params) };
  return system ? [{ role: 'system', content: system }, user] : [user];
}

/** The judge of a registered metric, or undefined when it has none (an unknown or inline metric). */
export function judgeOf(name: string): JudgeSpec | undefined {
  const metric = getMetric(name);
  return metric && 'judge' in metric ? metric.judge : undefined;
}

type JudgeOutcome = { score: number; observation: Record<string, unknown> } | { error: string; observation: Record<string, unknown> };

/**
 * Runs one judge on one row with the judge model (see `judgeModel`). Provider
 * failures (429, timeouts...) are thrown for the caller to retry; a reply the
 * judge got wrong is a recorded error.
 */
export async function runJudge(
  name: string,
  params: Record<string, unknown> | null,
  input: ScoreInput,
  model: ChatModel,
  call: (model: ChatModel, messages: ChatMessage[]) => Promise<ChatAnswer>,
): Promise<JudgeOutcome> {
  const spec = judgeOf(name);
  if (!spec) return { error: `metric ${name} has no judge`, observation: {} };
  const p = params ?? {};
  let messages: ChatMessage[];
  try {
    messages = judgeMessages(spec, model, input, p);
  } catch (err) {
    // A judge_adhoc template created before templates were checked at launch.
    return { error: `metric ${name}: ${(err as Error).message}`, observation: {} };
  }
  const reply = await call(judgeModel(model), messages);
  const audit = {
    prompt_version: spec.version,
    prompt: messages.map((m) => `${m.role}: ${m.content}`).join('\n\n').slice(0, 8000),
    judge_usage: { prompt_tokens: reply.nb_tokens_prompt, completion_tokens: reply.nb_tokens_completion },
  };
  try {
    const { score, observation } = spec.read(reply.answer, input, p);
    return { score, observation: { ...observation, ...audit } };
  } catch (err) {
    if (!(err instanceof JudgeReplyError)) throw err;
    return { error: err.message, observation: { ...audit, reply: reply.answer.slice(0, 2000) } };
  }
}
