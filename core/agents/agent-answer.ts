/**
 * A dataset row answered by a model with tools: its MCP servers' tools
 * offered, the tool-calling loop run, and the answer's fields as Evalap
 * stores them (tool_steps, nb_tool_calls, the context its tools returned).
 */
import type { GeneratedAnswer, ToolStep } from '../answer.js';
import { buildMessages, chatComplete, type CallOptions, type ChatModel } from '../providers/openai.js';
import { runToolLoop, DEFAULT_MAX_TOOL_STEPS } from './tool-loop.js';
import { toolContext } from './tool-context.js';
import { openToolbox } from './toolbox.js';

export interface AgentAnswer extends GeneratedAnswer {
  /** Null when no tool was called (Evalap stores `steps or None`). */
  tool_steps: ToolStep[][] | null;
  context: string[] | null;
  retrieval_context: string[] | null;
  /** Model calls the loop made. */
  calls: number;
}

/** Whether the model is to be run through the tool loop: it has MCP servers, or selects tools (which fails without servers). */
export const hasTools = (model: Pick<ChatModel, 'tools' | 'extra_params'>): boolean => {
  const selection = model.extra_params?._tools_;
  return !!model.tools?.length || (Array.isArray(selection) && selection.length > 0);
};

/** Throws ToolSetupError when the tools cannot be offered, and a provider error when a model call fails. */
export async function answerWithTools(model: ChatModel, query: string, row: Record<string, unknown>, options: CallOptions = {}): Promise<AgentAnswer> {
  const toolbox = await openToolbox(model);
  const started = performance.now();
  const loop = await runToolLoop(buildMessages(model, query, row), toolbox, (messages, turn) => chatComplete(model, messages, { ...options, ...turn }), model.max_tool_steps ?? DEFAULT_MAX_TOOL_STEPS);
  const execution_time = Math.round(performance.now() - started);
  const nb_tool_calls = loop.steps.reduce((n, turn) => n + turn.length, 0);
  return {
    answer: loop.reply.answer,
    think: loop.reply.think,
    // Every call's tokens, not only the last call's as Evalap counts them: what the answer cost.
    nb_tokens_prompt: loop.nb_tokens_prompt,
    nb_tokens_completion: loop.nb_tokens_completion,
    nb_tokens_cached: loop.nb_tokens_cached,
    nb_tool_calls,
    execution_time,
    tool_steps: loop.steps.length ? loop.steps : null,
    ...toolContext(loop.steps),
    calls: loop.calls,
  };
}
