/**
 * The multi-step tool-calling loop, as Evalap runs it: call the model with
 * the tools; run the tool calls of its reply one after the other, in order,
 * and feed each result back; again, up to `maxSteps` turns; if the last turn
 * still asked for tools, one more call with `tool_choice: "none"` so the
 * model answers from what it gathered.
 *
 * It knows the model through `chat` and the tools through a Toolbox, nothing
 * of MCP or of the runner. A model call's failure propagates (the task is
 * retried as any answer); a tool's failure is its step's result.
 *
 * Two departures from Evalap, on purpose: tool calls are run whenever the
 * reply has some and was not cut (`finish_reason` "length"), since several
 * providers send "stop" with tool calls; Evalap stops on "stop" and drops
 * them. And Evalap's rule that a second call of a tool named `search…` ends
 * the loop is not kept: the step limit is the one limit.
 */
import type { ChatMessage, ChatReply, ToolDefinition } from '../providers/openai.js';
import { addTokenCount, type ToolStep } from '../answer.js';
import type { Toolbox } from './toolbox.js';

/** Model turns that may call tools, unless the model sets max_tool_steps (Evalap's max_steps). */
export const DEFAULT_MAX_TOOL_STEPS = 10;

/** What the model is told when a tool returned no text (Evalap's words). */
export const EMPTY_RESULT = 'the tool call result is empty';

export type ChatTurn = (messages: ChatMessage[], options: { tools: ToolDefinition[]; toolChoice?: 'none' }) => Promise<ChatReply>;

export interface LoopResult {
  /** The last reply: the answer. */
  reply: ChatReply;
  /** One list per turn that called tools. */
  steps: ToolStep[][];
  /** Model calls made. */
  calls: number;
  /** Tokens over every call (null when no reply reported them). */
  nb_tokens_prompt: number | null;
  nb_tokens_completion: number | null;
  /** Of the prompt tokens, those served from the provider's cache, over the calls that said (null when none did). */
  nb_tokens_cached: number | null;
}

export async function runToolLoop(messages: readonly ChatMessage[], toolbox: Toolbox, chat: ChatTurn, maxSteps = DEFAULT_MAX_TOOL_STEPS): Promise<LoopResult> {
  const history = [...messages];
  const steps: ToolStep[][] = [];
  let calls = 0;
  let prompt: number | null = null;
  let completion: number | null = null;
  let cached: number | null = null;
  const turn = async (toolChoice?: 'none') => {
    const reply = await chat(history, { tools: toolbox.definitions, ...(toolChoice ? { toolChoice } : {}) });
    calls++;
    prompt = addTokenCount(prompt, reply.nb_tokens_prompt);
    completion = addTokenCount(completion, reply.nb_tokens_completion);
    cached = addTokenCount(cached, reply.nb_tokens_cached);
    return reply;
  };
  const result = (reply: ChatReply): LoopResult => ({ reply, steps, calls, nb_tokens_prompt: prompt, nb_tokens_completion: completion, nb_tokens_cached: cached });

  for (let step = 0; step < maxSteps; step++) {
    const reply = await turn();
    if (!reply.tool_calls.length || reply.finish_reason === 'length') return result(reply);
    history.push({ role: 'assistant', content: reply.content, tool_calls: reply.tool_calls });
    const done: ToolStep[] = [];
    for (const call of reply.tool_calls) {
      const started = performance.now();
      const out = await toolbox.call(call.function.name, call.function.arguments);
      const seconds = Math.round(performance.now() - started) / 1000;
      done.push({ tool_name: call.function.name, tool_params: call.function.arguments, tool_result: out.text, execution_time: seconds, ...(out.isError ? { is_error: true } : {}) });
      history.push({ role: 'tool', content: out.text || EMPTY_RESULT, tool_call_id: call.id });
    }
    steps.push(done);
  }
  // The steps ran out on tool results: the model answers from them, tools still described but not callable.
  return result(await turn('none'));
}
