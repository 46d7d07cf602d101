/**
 * Calling a judge: the LLM-as-judge and RAG metrics (builtin/) each hold a
 * versioned prompt and a rule turning the judge's reply into a score; this
 * sends that prompt to the judge model and records the outcome. Every
 * observation stores the prompt version, the judge's reply or reason and its
 * token usage, so a score can be audited and prompts can evolve without
 * mixing results.
 */
import { addTokenCount } from '../answer.js';
import type { ChatAnswer, ChatMessage, ChatModel, TokenLogprob } from '../providers/openai.js';
import { JudgeReplyError } from './judge-reply.js';
import { getMetric } from './registry.js';
import type { JudgeSpec, ScoreInput } from './types.js';

/** Evalap's judges sample at this temperature unless the judge model's sampling_params say otherwise (evalap/api/metrics/judge_*.py, `_config`). */
const JUDGE_TEMPERATURE = 0.2;

/** The judge model as it is called: temperature 0.2 unless its own sampling_params set one. */
export function judgeModel(model: ChatModel): ChatModel {
  return { ...model, sampling_params: { temperature: JUDGE_TEMPERATURE, ...(model.sampling_params ?? {}) } };
}

/** The messages of one judge call: the system message, if any, then the prompt. */
function messagesOf(system: string | undefined, prompt: string): ChatMessage[] {
  const user: ChatMessage = { role: 'user', content: prompt };
  return system ? [{ role: 'system', content: system }, user] : [user];
}

/** The system message of a judge's calls: the model's system_prompt, else the judge's own, if any. */
const systemOf = (spec: JudgeSpec, model: Pick<ChatModel, 'system_prompt'>) => model.system_prompt || spec.system;

/** The messages sent to the judge (its first call, for a judge of several). */
export function judgeMessages(spec: JudgeSpec, model: Pick<ChatModel, 'system_prompt'>, input: ScoreInput, params: Record<string, any>): ChatMessage[] {
  return messagesOf(systemOf(spec, model), spec.prompt(input, params));
}

/** The judge of a registered metric, or undefined when it has none (an unknown or inline metric). */
export function judgeOf(name: string): JudgeSpec | undefined {
  const metric = getMetric(name);
  return metric && 'judge' in metric ? metric.judge : undefined;
}

type JudgeOutcome = ({ score: number } | { error: string }) & {
  observation: Record<string, unknown>;
  /** Evaluation steps this run wrote (see SharedSteps), to share with the experiment's other rows. */
  madeSteps?: string[];
};

/** One call to the judge model; `topLogprobs` asks for the reply's token log-probabilities, which the call may not return. */
export type JudgeCall = (model: ChatModel, messages: ChatMessage[], options?: { topLogprobs?: number }) => Promise<ChatAnswer & { logprobs?: TokenLogprob[] | null }>;


/**
 * Runs one judge on one row with the judge model (see `judgeModel`). Provider
 * failures (429, timeouts...) are thrown for the caller to retry; a reply the
 * judge got wrong is a recorded error. A judge of several calls makes them one
 * after the other, so a task never has more than one request in flight; the
 * audit then holds every prompt and the usage summed over the calls.
 * `shared.steps` are the experiment's evaluation steps for a judge that
 * shares them; when it needs them and none are given, this run writes them
 * first (its usage counts them) and returns them as `madeSteps`.
 */
export async function runJudge(
  name: string,
  params: Record<string, unknown> | null,
  input: ScoreInput,
  model: ChatModel,
  call: JudgeCall,
  shared: { steps?: string[] } = {},
): Promise<JudgeOutcome> {
  const spec = judgeOf(name);
  if (!spec) return { error: `metric ${name} has no judge`, observation: {} };
  const p = params ?? {};
  const system = systemOf(spec, model);
  const prompts: string[] = [];
  const usage = { prompt_tokens: null as number | null, completion_tokens: null as number | null };
  // Of the prompt tokens, those the provider served from its cache: kept in judge_usage only when a call said.
  let cachedTokens: number | null = null;
  let lastReply = '';
  const send = async (prompt: string, topLogprobs?: number) => {
    const messages = messagesOf(system, prompt);
    prompts.push(messages.map((m) => `${m.role}: ${m.content}`).join('\n\n'));
    const reply = await call(judgeModel(model), messages, topLogprobs === undefined ? undefined : { topLogprobs });
    usage.prompt_tokens = addTokenCount(usage.prompt_tokens, reply.nb_tokens_prompt);
    usage.completion_tokens = addTokenCount(usage.completion_tokens, reply.nb_tokens_completion);
    cachedTokens = addTokenCount(cachedTokens, reply.nb_tokens_cached);
    lastReply = reply.answer;
    return reply;
  };
  const ask = async (prompt: string): Promise<string> => (await send(prompt)).answer;
  const askWithLogprobs = async (prompt: string, top: number) => {
    const reply = await send(prompt, top);
    return { text: reply.answer, logprobs: reply.logprobs ?? null };
  };
  const audit = () => ({
    prompt_version: spec.versionOf?.(p) ?? spec.version,
    prompt: prompts.join('\n\n---\n\n').slice(0, 8000),
    judge_usage: cachedTokens === null ? usage : { ...usage, cached_tokens: cachedTokens },
    ...(prompts.length > 1 ? { judge_calls: prompts.length } : {}),
  });
  let madeSteps: string[] | undefined;
  const made = () => (madeSteps ? { madeSteps } : {});
  try {
    let out;
    if (spec.run) {
      let steps = shared.steps;
      if (!steps && spec.sharedSteps?.key(p) != null) steps = madeSteps = await spec.sharedSteps.make(ask, p);
      out = await spec.run(ask, input, p, { askWithLogprobs, steps });
    } else {
      let prompt: string;
      try {
        prompt = spec.prompt(input, p);
      } catch (err) {
        // A judge_adhoc template created before templates were checked at launch.
        return { error: `metric ${name}: ${(err as Error).message}`, observation: {} };
      }
      out = spec.read(await ask(prompt), input, p);
    }
    return { score: out.score, observation: { ...out.observation, ...audit() }, ...made() };
  } catch (err) {
    if (!(err instanceof JudgeReplyError)) throw err;
    return { error: err.message, observation: { ...audit(), reply: lastReply.slice(0, 2000) }, ...made() };
  }
}
