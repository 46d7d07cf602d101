/**
 * OpenAI-compatible chat-completions provider: one call per dataset row, or
 * one per turn of a tool-calling loop (core/agents/tool-loop.ts). Failures are thrown as the typed errors of `./errors.ts`; a caller's abort
 * is not a provider failure and rethrows the caller's own reason.
 */
import { classifyHttpError, malformedResponseError, toProviderError, type CallContext } from './errors.js';
import { NO_HEADERS, postJson, type HeaderLookup } from './http.js';
import type { GeneratedAnswer } from '../answer.js';
import type { CallableModel } from '../model-config.js';
import { imagePart, type ImagePart } from './image.js';
import { readRateLimits, type RateLimitState } from './rate-limits.js';

/**
 * The settings a call reads of a model (core/model-config.ts): prelude_prompt
 * is prepended to the query, its `{{column}}` placeholders filled from the
 * row; extra_params are spread into the body last, so they override
 * everything else.
 */
export type ChatModel = Pick<CallableModel, 'name' | 'base_url' | 'api_key' | 'system_prompt' | 'prelude_prompt' | 'sampling_params' | 'extra_params' | 'with_vision'> &
  /** A model with MCP servers answers through core/agents/ (the tool loop); a judge's are ignored. */
  Partial<Pick<CallableModel, 'tools' | 'max_tool_steps' | 'tool_timeout_seconds'>>;

/** What a call returns: the answer's one shape, core/answer.ts. */
export type ChatAnswer = GeneratedAnswer;

export const DEFAULT_TIMEOUT_MS = 60_000;

/** A tool call as the model wrote it: `arguments` is the raw JSON text, parsed only by whoever runs the tool. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A tool offered to the model, in the chat-completions `tools` format. */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string | (ImagePart | { type: 'text'; text: string })[] }
  /** A model's turn fed back to it: its text, and the tool calls it asked for. */
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  /** A tool's result, answering the call of that id. */
  | { role: 'tool'; content: string; tool_call_id: string };

/**
 * One token of a reply with its log-probability and its most likely
 * alternatives at that position (OpenAI's `choices[0].logprobs.content[i]`).
 */
export interface TokenLogprob {
  token: string;
  logprob: number;
  top_logprobs: { token: string; logprob: number }[];
}

/** A reply with what a tool-calling loop (or a judge) reads besides the answer. */
export type ChatReply = ChatAnswer & {
  /** The reply's tokens with their log-probabilities: only when asked for (`topLogprobs`) and given; null otherwise. */
  logprobs: TokenLogprob[] | null;
  /** Null when the provider gave none. */
  finish_reason: string | null;
  tool_calls: ToolCall[];
  /** The message's content as sent (null for tool calls alone), to feed the turn back unaltered. */
  content: string | null;
};

/**
 * Evalap's key in extra_params that selects the model's tools. It is ours,
 * not the provider's: it is never sent.
 */
export const TOOLS_SELECTION_KEY = '_tools_';

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Called with what every reply (success or error) states about the
   * provider's rate limits, and when its request was sent (epoch ms): the
   * runner's limiter paces to it. A throw here is not the call's failure.
   */
  onRateLimits?: (limits: RateLimitState, sentAt: number) => void;
  /** Tools offered in this call; `tool_choice` defaults to "auto" with them (as Evalap), unless the model's params set it. */
  tools?: ToolDefinition[];
  /** Overrides any tool_choice of the model's params: "none" for the last turn of a loop whose steps ran out. */
  toolChoice?: 'auto' | 'none' | 'required';
  /**
   * Asks for each reply token's log-probability with its this many most
   * likely alternatives (`logprobs: true, top_logprobs`); the model's params
   * may still override both. Not every server takes them: see ./logprobs.ts.
   */
  topLogprobs?: number;
}

/** One chat-completions call for one dataset row. */
export async function generateAnswer(model: ChatModel, query: string, row: Record<string, unknown>, options: CallOptions = {}): Promise<ChatAnswer> {
  const { finish_reason: _reason, tool_calls: _calls, content: _content, logprobs: _logprobs, ...answer } = await chatComplete(model, buildMessages(model, query, row), options);
  return answer;
}

/** Anthropic's API version Evalap sends to Claude models (Anthropic requires the header). */
const ANTHROPIC_VERSION = '2023-06-01';

/**
 * How the key is sent: as Evalap does, a model whose name starts with
 * "claude" gets Anthropic's `x-api-key` and `anthropic-version` headers, any
 * other a bearer token. No key, no header.
 */
export function authHeaders(model: Pick<ChatModel, 'name' | 'api_key'>): Record<string, string> {
  if (!model.api_key) return {};
  if (model.name.startsWith('claude')) return { 'x-api-key': model.api_key, 'anthropic-version': ANTHROPIC_VERSION };
  return { authorization: `Bearer ${model.api_key}` };
}

/** One chat-completions call with the given messages; the model's sampling and extra params are passed through. */
export async function chatComplete(model: ChatModel, messages: ChatMessage[], options: CallOptions = {}): Promise<ChatReply> {
  const url = `${model.base_url.replace(/\/+$/, '')}/chat/completions`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ctx: CallContext = { model: model.name, url, apiKey: model.api_key, timeoutMs };
  const logprobs = options.topLogprobs === undefined ? {} : { logprobs: true, top_logprobs: options.topLogprobs };
  const body: Record<string, unknown> = { model: model.name, messages, ...logprobs, ...model.sampling_params, ...model.extra_params };
  delete body[TOOLS_SELECTION_KEY];
  if (options.tools?.length) {
    body.tools = options.tools;
    body.tool_choice = options.toolChoice ?? body.tool_choice ?? 'auto';
  } else if (options.toolChoice) {
    body.tool_choice = options.toolChoice;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  Object.assign(headers, authHeaders(model));

  options.signal?.throwIfAborted();
  const deadline = deadlineSignal(timeoutMs, options.signal);
  const started = performance.now();
  let status: number;
  let text: string;
  try {
    const sentAt = Date.now();
    const res = await postJson(url, headers, JSON.stringify(body), deadline.signal);
    status = res.status;
    text = res.text;
    if (options.onRateLimits) reportRateLimits(options.onRateLimits, res.headers, status >= 400 ? text : undefined, sentAt);
    if (status < 200 || status > 299) throw classifyHttpError(status, res.headers, text, ctx);
  } catch (err) {
    if (options.signal?.aborted && !deadline.timedOut()) throw options.signal.reason;
    throw toProviderError(err, { ...ctx, timedOut: deadline.timedOut() });
  } finally {
    deadline.dispose();
  }
  const execution_time = Math.round(performance.now() - started);
  return { ...parseCompletion(status, text, ctx), execution_time };
}

/** Reads the reply's rate-limit state for the observer; an observer's bug must not turn an answer into a failure. */
function reportRateLimits(observer: NonNullable<CallOptions['onRateLimits']>, headers: HeaderLookup, errorText: string | undefined, sentAt: number): void {
  try {
    observer(readRateLimits(headers, errorText), sentAt);
  } catch {
    // Pacing falls back to what refusals teach.
  }
}

/** The system message if any, then the user message (rendered prelude, blank line, query). */
export function buildMessages(model: ChatModel, query: string, row: Record<string, unknown>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (model.system_prompt) messages.push({ role: 'system', content: model.system_prompt });
  const content = model.prelude_prompt ? `${renderTemplate(model.prelude_prompt, row)}\n\n${query}` : query;
  // Evalap's column name for the image; its model sees the text part, then the image.
  messages.push({ role: 'user', content: model.with_vision ? [{ type: 'text', text: content }, imagePart(row.img, 'img')] : content });
  return messages;
}

/** A 2xx body → the answer fields; anything that is not a chat completion → ProviderResponseError. */
function parseCompletion(status: number, text: string, ctx: CallContext): Omit<ChatReply, 'execution_time'> {
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformedResponseError(status, 'a body that is not JSON', text, ctx);
  }
  const message = json?.choices?.[0]?.message;
  if (!message || typeof message !== 'object') {
    // Some gateways (OpenRouter, LiteLLM) answer 200 with an error object, sometimes carrying the real status.
    const code = json?.error?.code ?? json?.error?.status;
    if (typeof code === 'number' && code >= 400 && code <= 599) throw classifyHttpError(code, NO_HEADERS, text, ctx);
    throw malformedResponseError(status, json?.error ? 'an error instead of choices' : 'no choices[0].message', text, ctx);
  }
  const { answer, think } = splitThink(contentText(message.content), message.reasoning_content ?? message.reasoning);
  const usage = json.usage;
  const tool_calls = toolCalls(message.tool_calls);
  const finish = json.choices[0].finish_reason;
  return {
    answer,
    think,
    nb_tokens_prompt: typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : null,
    nb_tokens_completion: typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : null,
    nb_tokens_cached: cachedPromptTokens(usage),
    // As Evalap stores it: 0 for a reply without tool calls, never null.
    nb_tool_calls: tool_calls.length,
    finish_reason: typeof finish === 'string' ? finish : null,
    tool_calls,
    content: typeof message.content === 'string' ? message.content : message.content == null ? null : contentText(message.content),
    logprobs: tokenLogprobs(json.choices[0].logprobs),
  };
}

/**
 * Of the reply's prompt tokens, those the provider served from its prompt
 * cache (billed at its cached-input price), where the reply says:
 * - OpenAI: `usage.prompt_tokens_details.cached_tokens`
 *   (https://platform.openai.com/docs/guides/prompt-caching); Mistral reports
 *   it there too (https://docs.mistral.ai/studio-api/conversations/advanced/prompt-caching),
 *   and so does vLLM when started with `--enable-prompt-tokens-details`
 *   (https://docs.nvidia.com/aiperf/latest/reference/vendor-usage-field-reference).
 * - DeepSeek: `usage.prompt_cache_hit_tokens`
 *   (https://api-docs.deepseek.com/guides/kv_cache); read when OpenAI's field is missing or unusable.
 * - Anthropic's OpenAI-compatible endpoint reports none: its page sends prompt
 *   caching to the native API (https://platform.claude.com/docs/en/api/openai-sdk).
 *   Gemini's documents none (https://ai.google.dev/gemini-api/docs/openai); it
 *   was seen filling OpenAI's field on a cache hit (openai/openai-python#2544),
 *   which is read as OpenAI's.
 * Null when the reply does not say, or says what cannot be a part of its
 * prompt tokens: not a whole number, negative, or more than the prompt (a
 * provider counting its cache apart from the prompt, as Anthropic's native
 * API does). The prompt tokens are then all priced at the input price rather
 * than guessed at, which errs on the safe side of a budget cap.
 */
export function cachedPromptTokens(usage: unknown): number | null {
  const u = usage as { prompt_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } | null; prompt_cache_hit_tokens?: unknown } | null | undefined;
  const prompt = u?.prompt_tokens;
  if (typeof prompt !== 'number') return null;
  for (const reported of [u!.prompt_tokens_details?.cached_tokens, u!.prompt_cache_hit_tokens]) {
    if (typeof reported === 'number' && Number.isSafeInteger(reported) && reported >= 0 && reported <= prompt) return reported;
  }
  return null;
}

/** The reply's `logprobs.content`, its malformed entries left out; null when there is none (not asked for, or not given). */
function tokenLogprobs(raw: unknown): TokenLogprob[] | null {
  const content = (raw as { content?: unknown } | null | undefined)?.content;
  if (!Array.isArray(content)) return null;
  const wellFormed = (t: any): t is { token: string; logprob: number } => typeof t?.token === 'string' && typeof t?.logprob === 'number';
  return content.filter(wellFormed).map((t: any) => ({
    token: t.token,
    logprob: t.logprob,
    top_logprobs: Array.isArray(t.top_logprobs) ? t.top_logprobs.filter(wellFormed).map((a: any) => ({ token: a.token, logprob: a.logprob })) : [],
  }));
}

/**
 * The reply's tool calls in the request format. Some servers send
 * `arguments` as an object rather than JSON text, or leave out an id: both
 * are normalised so the turn can be sent back as it must be.
 */
function toolCalls(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((c: any, i: number) => ({
    id: typeof c?.id === 'string' && c.id ? c.id : `call_${i}`,
    type: 'function' as const,
    function: {
      name: typeof c?.function?.name === 'string' ? c.function.name : '',
      arguments: typeof c?.function?.arguments === 'string' ? c.function.arguments : JSON.stringify(c?.function?.arguments ?? {}),
    },
  }));
}

/** `content` may be a string, null (tool calls only) or an array of parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (typeof p === 'string' ? p : typeof p?.text === 'string' ? p.text : '')).join('');
  }
  return '';
}

const THINK_BLOCK = /<think>([\s\S]*?)(?:<\/think>|$)/g;

/**
 * Splits a leading or embedded <think>…</think> block from the content:
 * answer = content without it (trimmed), think = its inner text (trimmed), or
 * the message's `reasoning_content`/`reasoning` field when present (both are
 * kept, field first, when a model sends both). Also handled: an unclosed
 * `<think>` (output cut by max_tokens: the rest is thinking) and a lone
 * `</think>` (templates that put the opening tag in the prompt: what precedes
 * it is thinking).
 */
export function splitThink(content: string, reasoning?: unknown): { answer: string; think: string | null } {
  const thoughts: string[] = [];
  if (typeof reasoning === 'string' && reasoning.trim()) thoughts.push(reasoning.trim());
  let answer = content;
  const close = answer.indexOf('</think>');
  const open = answer.indexOf('<think>');
  if (close !== -1 && (open === -1 || close < open)) {
    thoughts.push(answer.slice(0, close).trim());
    answer = answer.slice(close + '</think>'.length);
  }
  if (answer.includes('<think>')) {
    answer = answer.replace(THINK_BLOCK, (_, inner: string) => {
      thoughts.push(inner.trim());
      return '';
    });
  }
  const think = thoughts.filter(Boolean).join('\n\n');
  return { answer: answer.trim(), think: think || null };
}

/** Renders {{column}} placeholders of a prompt from the row (missing → empty string). */
export function renderTemplate(template: string, row: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (_, key: string) => {
    const value = Object.hasOwn(row, key) ? row[key] : undefined;
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
}

/**
 * Our deadline combined with the caller's signal. Not `AbortSignal.any`: on
 * Node 20 every `any()` over a long-lived signal (a runner's shutdown signal)
 * stays in that signal's dependants forever (nodejs/node#55351; the growth
 * measured is in the README), so the listener is removed and
 * the timer cleared after each call instead.
 */
function deadlineSignal(timeoutMs: number, caller?: AbortSignal): { signal: AbortSignal; timedOut(): boolean; dispose(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const onAbort = () => controller.abort(caller!.reason);
  caller?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}
