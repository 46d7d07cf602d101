/**
 * What a worker does with one task: call the model when the row has no
 * answer yet, then score the inline metrics; or run one judged metric. It
 * never throws: every failure is part of the outcome.
 */
import { scoreInline } from '../core/metrics/score.js';
import type { ScoreInput } from '../core/metrics/types.js';
import { ProviderError, RateLimitedError, ProviderServerError, ProviderTimeoutError, ProviderConnectionError } from '../core/providers/errors.js';
import { chatComplete, generateAnswer, type ChatModel } from '../core/providers/openai.js';
import { chatCompleteWithLogprobs } from '../core/providers/logprobs.js';
import { runJudge } from '../core/metrics/judges.js';
import { emissionCarbon, type EmissionCarbon } from '../core/eco/emission.js';
import { AUTO_ZONE } from '../core/eco/electricity-mixes.js';
import type { RateLimitState } from '../core/providers/rate-limits.js';
import { answerWithTools, hasTools } from '../core/agents/agent-answer.js';
import { ToolSetupError } from '../core/agents/errors.js';
import type { CallResult, ObservationFields, StatedLimits, StoredAnswer, WorkerOutcome, WorkerTask } from './protocol.js';

/**
 * The energy and carbon of a model call (EcoLogits' method, core/eco/), from
 * the completion tokens and the time the call(s) took, as Evalap computes it
 * for answers and judge calls. Null when the provider reported no token
 * count: there is nothing to estimate from, and Evalap stores none either.
 */
function callEmission(task: WorkerTask, model: Pick<ChatModel, 'name' | 'base_url'>, completionTokens: number | null, ms: number): EmissionCarbon | null {
  if (completionTokens === null) return null;
  try {
    return emissionCarbon({ model: model.name, baseUrl: model.base_url, outputTokens: completionTokens, latencySec: ms / 1000 }, task.ecoZone ?? AUTO_ZONE);
  } catch {
    // A figure that cannot be computed is left out; it never fails the answer or the metric.
    return null;
  }
}

/**
 * Overloads: Anthropic's 529 `overloaded_error` and a 503 ask the client to
 * slow down, as a 429 does, not that something is broken
 * (docs.anthropic.com/en/api/errors: "529 - overloaded_error: Anthropic's API
 * is temporarily overloaded"; RFC 9110 §15.6.4: 503 "temporary overload",
 * possibly with Retry-After). Any other 5xx stays a server failure.
 */
const OVERLOAD_STATUSES = new Set([503, 529]);

/**
 * Maps a provider failure to what the limiter and the retry decision need. Classified here, once.
 * `stated`: what the failed call's reply said about rate limits (an overload's Retry-After is read there).
 */
export function callFailure(err: unknown, stated: StatedLimits = {}): Extract<CallResult, { ok: false }> {
  const message = err instanceof Error ? err.message : String(err);
  const failure = (f: Omit<Extract<CallResult, { ok: false }>, 'ok' | 'message'>): Extract<CallResult, { ok: false }> => ({ ok: false, ...f, message, ...stated });
  if (err instanceof RateLimitedError) return failure({ kind: 'throttle', retryable: true, retryAfterMs: err.retryAfterMs });
  if (err instanceof ProviderServerError && OVERLOAD_STATUSES.has(err.status ?? 0)) {
    return failure({ kind: 'throttle', retryable: true, retryAfterMs: stated.limits?.retryAfterMs });
  }
  if (err instanceof ProviderTimeoutError) return failure({ kind: 'timeout', retryable: true });
  if (err instanceof ProviderServerError || err instanceof ProviderConnectionError) return failure({ kind: 'server', retryable: true });
  if (err instanceof ProviderError) return failure({ kind: 'other', retryable: err.retryable });
  // The model's tools cannot be offered (a server down, a `_tools_` name unknown): the answer fails for good, with why;
  // 'other' leaves the model's limiter as it was, since the model is not at fault.
  if (err instanceof ToolSetupError) return failure({ kind: 'other', retryable: false });
  return { ok: false, kind: 'other', retryable: false, message: `unexpected error: ${message}`, ...stated };
}

/** Keeps the last reply's rate-limit state that said anything, for the limiter (the bus carries JSON: nothing empty). */
function limitsRecorder(): { onRateLimits: (limits: RateLimitState, sentAt: number) => void; stated: StatedLimits } {
  const stated: StatedLimits = {};
  return {
    stated,
    onRateLimits(limits, sentAt) {
      if (limits.requests === undefined && limits.tokens === undefined && limits.retryAfterMs === undefined) return;
      stated.limits = limits;
      stated.sentAt = sentAt;
    },
  };
}

/** What metrics see: the row, overlaid with the answer's fields that are set (an answer without
 *  retrieval_context must not hide the dataset's column of that name). */
function scoreInput(row: Record<string, unknown>, answer: StoredAnswer | undefined): ScoreInput {
  const input: ScoreInput = { ...row, output: answer?.answer ?? '' };
  if (answer) for (const [k, v] of Object.entries(answer)) if (v !== null && v !== undefined && k !== 'answer') input[k] = v;
  return input;
}

function scoreAll(task: WorkerTask, answer: StoredAnswer): ObservationFields[] {
  const input = scoreInput(task.row, answer);
  return task.inline.map((m) => {
    const started = performance.now();
    const out = scoreInline(m.name, m.params, input);
    const execution_time = Math.round(performance.now() - started);
    return 'error' in out
      ? { resultId: m.resultId, score: null, observation: null, error_msg: out.error, execution_time }
      : { resultId: m.resultId, score: out.score, observation: out.observation, error_msg: null, execution_time };
  });
}

async function judgeTask(task: WorkerTask): Promise<WorkerOutcome> {
  const judge = task.judge!;
  const fail = (error_msg: string, observation: unknown = null, execution_time = 0): WorkerOutcome => ({
    id: task.id,
    observations: [{ resultId: judge.resultId, score: null, observation, error_msg, execution_time }],
  });
  // Launches refuse a judge no provider serves; what is left is a runner configured unlike the API (or an experiment from before).
  if (!judge.model) return fail('no judge model: this runner has no key for the provider of the experiment\'s judge (or, for an experiment with no judge, no EVALAP_JUDGE_BASE_URL and EVALAP_JUDGE_MODEL)');
  const input = scoreInput(task.row, task.answer);
  const started = performance.now();
  let tokens = 0;
  let completionTokens: number | null = null;
  let calls = 0;
  const recorder = limitsRecorder();
  // More than one request (DeepEval's steps, one per retrieval chunk): the limiter charges each.
  const sent = () => (calls > 1 ? { calls } : {});
  try {
    const options = { timeoutMs: task.timeoutMs, onRateLimits: recorder.onRateLimits };
    const out = await runJudge(judge.name, judge.params, input, judge.model, async (model, messages, asked) => {
      calls++;
      const reply = asked?.topLogprobs === undefined ? await chatComplete(model, messages, options) : await chatCompleteWithLogprobs(model, messages, asked.topLogprobs, options);
      tokens += (reply.nb_tokens_prompt ?? 0) + (reply.nb_tokens_completion ?? 0);
      if (reply.nb_tokens_completion !== null) completionTokens = (completionTokens ?? 0) + reply.nb_tokens_completion;
      return reply;
    }, { steps: judge.steps });
    const execution_time = Math.round(performance.now() - started);
    const call: CallResult = { ok: true, tokens, ...recorder.stated, ...sent() };
    // Evaluation steps written here, for the runner to share with the experiment's other rows.
    const made = out.madeSteps ? { madeSteps: out.madeSteps } : {};
    if ('error' in out) return { ...fail(out.error, out.observation, execution_time), call, ...made };
    // As Evalap: the judge's completion tokens over the whole metric's time, recorded with a scored observation.
    const emission_carbon = callEmission(task, judge.model, completionTokens, execution_time);
    return { id: task.id, call, observations: [{ resultId: judge.resultId, score: out.score, observation: out.observation, error_msg: null, execution_time, emission_carbon }], ...made };
  } catch (err) {
    return { id: task.id, call: { ...callFailure(err, recorder.stated), ...sent() }, observations: [] };
  }
}

export async function executeTask(task: WorkerTask): Promise<WorkerOutcome> {
  if (task.kind === 'observation') return judgeTask(task);
  let answer = task.answer;
  let call: CallResult | undefined;
  let calls = 1;
  if (!answer) {
    const query = typeof task.row.query === 'string' ? task.row.query : task.row.query == null ? '' : JSON.stringify(task.row.query);
    const recorder = limitsRecorder();
    const model = task.model!;
    const options = { timeoutMs: task.timeoutMs, onRateLimits: recorder.onRateLimits };
    try {
      if (hasTools(model)) {
        // The loop's several model calls: one start for the limiter, which then charges the others with their tokens.
        const { calls: made, ...out } = await answerWithTools(model, query, task.row, options);
        calls = made;
        answer = { ...out, emission_carbon: callEmission(task, model, out.nb_tokens_completion, out.execution_time) };
      } else {
        const out = await generateAnswer(model, query, task.row, options);
        answer = { ...out, context: null, retrieval_context: null, tool_steps: null, emission_carbon: callEmission(task, model, out.nb_tokens_completion, out.execution_time) };
      }
      call = { ok: true, tokens: (answer.nb_tokens_prompt ?? 0) + (answer.nb_tokens_completion ?? 0), ...recorder.stated, ...(calls > 1 ? { calls } : {}) };
    } catch (err) {
      return { id: task.id, call: callFailure(err, recorder.stated), observations: [] };
    }
  }
  return { id: task.id, call, answer: call ? answer : undefined, observations: scoreAll(task, answer) };
}

/** What a worker thread holds open across tasks (MCP connections, stdio servers): to close before the thread ends. */
export { closeMcpSessions as closeWorkerResources } from '../core/agents/mcp-sessions.js';
