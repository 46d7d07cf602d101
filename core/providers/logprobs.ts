/**
 * Asking for token log-probabilities where the model allows it. Many
 * OpenAI-compatible models do not (reasoning models, some gateways and
 * servers), and answer the request with a 400 that names the parameter. A
 * caller that only uses log-probabilities when it gets them (g_eval's
 * probability-weighted score) should not fail for that: the call is made
 * again without them, once, and the model is remembered as refusing them for
 * the rest of the process, so its later calls go without them from the start.
 * The memory is per JavaScript realm: each runner worker thread learns it
 * once on its own, at the cost of one refused call.
 */
import { ProviderClientError } from './errors.js';
import { chatComplete, type CallOptions, type ChatMessage, type ChatModel, type ChatReply } from './openai.js';

/** Models (base URL and name) that refused log-probabilities in this process. */
const refusing = new Set<string>();

const modelKey = (model: Pick<ChatModel, 'base_url' | 'name'>) => `${model.base_url}|${model.name}`;

/**
 * Whether a failure is the provider refusing the log-probability parameters:
 * a request error (400, or the 422 of FastAPI-based servers) whose message
 * names them. Any other 400 is the request's own fault and stays an error.
 */
export function refusesLogprobs(err: unknown): boolean {
  return err instanceof ProviderClientError && (err.status === 400 || err.status === 422) && /logprob/i.test(err.message);
}

/**
 * One chat-completions call asking for the reply's log-probabilities with
 * `topLogprobs` alternatives per token; without them when the model refuses
 * them (see above). The reply's `logprobs` is null when none came back.
 */
export async function chatCompleteWithLogprobs(model: ChatModel, messages: ChatMessage[], topLogprobs: number, options: CallOptions = {}): Promise<ChatReply> {
  const key = modelKey(model);
  if (!refusing.has(key)) {
    try {
      return await chatComplete(model, messages, { ...options, topLogprobs });
    } catch (err) {
      if (!refusesLogprobs(err)) throw err;
      refusing.add(key);
    }
  }
  return chatComplete(model, messages, options);
}

/** Forgets what was learned (tests). */
export function forgetLogprobRefusals(): void {
  refusing.clear();
}
