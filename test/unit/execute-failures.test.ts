/**
 * How a model call's failure becomes what the runner acts on
 * (runner/execute.ts's `callFailure`, then core/backoff.ts's decision): a
 * throttle that waits as long as the provider said, a retry after a back-off,
 * or a failure for good. Each failure is a real one, from a scripted HTTP
 * server on this host that answers the worker's real chat-completions call.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterFailedCall, Delays, isRetryableFailure } from '../../core/backoff.js';
import { ProviderError } from '../../core/providers/errors.js';
import { callFailure, executeTask } from '../../runner/execute.js';
import type { CallResult, WorkerOutcome, WorkerTask } from '../../runner/protocol.js';

const KEY = 'sk-test-secret-key-0123456789';
const MAX_ATTEMPTS = 3;
/** What a back-off draws when the provider said nothing: the middle of its range. */
const half = () => 0.5;

/** How the next request is answered (through `req.socket` for failures below HTTP). */
type Script = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let script: Script;
let server: http.Server;
let baseUrl: string;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => script(req, res));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/v1`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const reply = (status: number, body: unknown, headers: Record<string, string> = {}): Script => (_req, res) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
};
const openAiError = (message: string) => ({ error: { message, type: 'error' } });

function answerTask(over: Partial<WorkerTask> = {}): WorkerTask {
  return {
    id: 1,
    kind: 'answer',
    attempt: 0,
    experimentId: 1,
    numLine: 0,
    row: { query: 'question 0', output_true: 'answer 0' },
    model: { name: 'gpt-test', base_url: baseUrl, api_key: KEY },
    inline: [{ resultId: 11, name: 'exact_match', params: null }],
    timeoutMs: 5000,
    ...over,
  };
}

/** The failed call of an answer task run against `s`, checked to carry nothing else. */
async function failedCall(s: Script, over: Partial<WorkerTask> = {}): Promise<Extract<CallResult, { ok: false }>> {
  script = s;
  const outcome: WorkerOutcome = await executeTask(answerTask(over));
  expect(outcome.answer).toBeUndefined();
  expect(outcome.observations).toEqual([]);
  expect(outcome.call?.ok).toBe(false);
  expect(outcome.call && !outcome.call.ok && outcome.call.message).not.toContain(KEY);
  return outcome.call as Extract<CallResult, { ok: false }>;
}

describe('a failed model call', () => {
  it('is a throttle that waits the Retry-After seconds of a 429', async () => {
    const call = await failedCall(reply(429, openAiError('Rate limit reached'), { 'retry-after': '7' }));
    expect(call).toMatchObject({ kind: 'throttle', retryable: true, retryAfterMs: 7000 });
    expect(call.message).toMatch(/HTTP 429.*Rate limit reached/);
    expect(afterFailedCall(call, 0, MAX_ATTEMPTS, half)).toEqual({ retry: true, delayMs: 7000 });
  });

  it('is a throttle that waits the exact retry-after-ms of a 429 before its Retry-After', async () => {
    const call = await failedCall(reply(429, openAiError('slow down'), { 'retry-after': '2', 'retry-after-ms': '1500' }));
    expect(call).toMatchObject({ kind: 'throttle', retryable: true, retryAfterMs: 1500 });
  });

  it('is a throttle with the back-off of its attempt when a 429 does not say how long to wait', async () => {
    const call = await failedCall(reply(429, openAiError('Rate limit reached')));
    expect(call).toMatchObject({ kind: 'throttle', retryable: true });
    expect(call.retryAfterMs).toBeUndefined();
    expect(afterFailedCall(call, 1, MAX_ATTEMPTS, half)).toEqual({ retry: true, delayMs: Delays.taskRetryMs(1, half) });
  });

  it('is a throttle with the back-off of its attempt when a 429 says something unreadable', async () => {
    const call = await failedCall(reply(429, openAiError('Rate limit reached'), { 'retry-after': 'soon' }));
    expect(call).toMatchObject({ kind: 'throttle', retryable: true, retryAfterMs: undefined });
  });

  // 503 left this list on purpose (issue 16): an overload asks to slow down, see below.
  it.each([500, 502, 504])('is a server failure to retry after a back-off on HTTP %i', async (status) => {
    const call = await failedCall(reply(status, openAiError('overloaded')));
    expect(call).toMatchObject({ kind: 'server', retryable: true });
    expect(call.retryAfterMs).toBeUndefined();
    expect(call.message).toContain(`HTTP ${status}`);
    expect(afterFailedCall(call, 0, MAX_ATTEMPTS, half)).toEqual({ retry: true, delayMs: Delays.taskRetryMs(0, half) });
  });

  it.each([503, 529])('is a throttle, with the back-off of its attempt, on an HTTP %i overload that states no wait', async (status) => {
    const call = await failedCall(reply(status, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    expect(call).toMatchObject({ kind: 'throttle', retryable: true });
    expect(call.retryAfterMs).toBeUndefined();
    expect(call.message).toContain(`HTTP ${status}`);
    expect(afterFailedCall(call, 0, MAX_ATTEMPTS, half)).toEqual({ retry: true, delayMs: Delays.taskRetryMs(0, half) });
  });

  it('is a throttle that waits the Retry-After of a 503 overload', async () => {
    const call = await failedCall(reply(503, openAiError('The engine is currently overloaded'), { 'retry-after': '2' }));
    expect(call).toMatchObject({ kind: 'throttle', retryable: true, retryAfterMs: 2000 });
    expect(afterFailedCall(call, 0, MAX_ATTEMPTS, half)).toEqual({ retry: true, delayMs: 2000 });
  });

  it('is a throttle that waits the delay a 429 states only in its text', async () => {
    const call = await failedCall(reply(429, openAiError('Rate limit reached for gpt-test on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 120ms.')));
    expect(call).toMatchObject({ kind: 'throttle', retryable: true, retryAfterMs: 120 });
  });

  it('carries what the refusal stated about the rate limits, and when its request was sent', async () => {
    const before = Date.now();
    const call = await failedCall(reply(429, openAiError('slow down'), { 'retry-after-ms': '40', 'x-ratelimit-limit-requests': '50', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' }));
    expect(call.limits).toEqual({ requests: { limit: 50, remaining: 0, resetMs: 1000 }, retryAfterMs: 40 });
    expect(call.sentAt).toBeGreaterThanOrEqual(before);
    expect(call.sentAt).toBeLessThanOrEqual(Date.now());
  });

  it('is a timeout to retry on HTTP 408', async () => {
    expect(await failedCall(reply(408, 'Request Timeout'))).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it.each([400, 401, 403, 404, 422])('is a failure for good, with the provider\'s message, on HTTP %i', async (status) => {
    const call = await failedCall(reply(status, openAiError(`Incorrect API key provided: ${KEY}`)));
    expect(call).toMatchObject({ kind: 'other', retryable: false });
    expect(call.message).toMatch(new RegExp(`HTTP ${status} from gpt-test .*Incorrect API key provided: \\*\\*\\*`));
    expect(afterFailedCall(call, 0, MAX_ATTEMPTS, half)).toEqual({ retry: false, error: call.message });
    expect(isRetryableFailure(call)).toBe(false);
  });

  it('is a timeout to retry when no answer comes within the task\'s time', async () => {
    // Never answered: the worker's own deadline ends the call.
    const call = await failedCall(() => undefined, { timeoutMs: 200 });
    expect(call).toMatchObject({ kind: 'timeout', retryable: true });
    expect(call.message).toContain('after 200 ms');
    expect(isRetryableFailure(call)).toBe(true);
  });

  it('is a connection failure to retry when the connection is cut before an answer', async () => {
    const call = await failedCall((req) => req.socket.destroy());
    expect(call).toMatchObject({ kind: 'server', retryable: true });
    expect(call.message).toMatch(/^cannot reach gpt-test/);
  });

  it('is a connection failure to retry when nothing listens at the model\'s address', async () => {
    const call = await failedCall(reply(200, {}), { model: { name: 'gpt-test', base_url: 'http://127.0.0.1:1/v1', api_key: KEY } });
    expect(call).toMatchObject({ kind: 'server', retryable: true });
    expect(call.message).toMatch(/ECONNREFUSED/);
  });

  it.each([
    ['a body that is not JSON', reply(200, '<html>gateway</html>'), /with a body that is not JSON/],
    ['JSON without choices', reply(200, { id: 'x', object: 'chat.completion' }), /no choices\[0\]\.message/],
    ['an error object instead of choices', reply(200, { error: { message: 'upstream said no' } }), /an error instead of choices/],
  ])('is a failure for good when a 200 carries %s', async (_what, s, problem) => {
    const call = await failedCall(s);
    expect(call).toMatchObject({ kind: 'other', retryable: false });
    expect(call.message).toMatch(problem);
    expect(afterFailedCall(call, 0, MAX_ATTEMPTS, half)).toEqual({ retry: false, error: call.message });
  });

  it('is classified by the status a 200 carries in its error object, as a gateway reports it', async () => {
    expect(await failedCall(reply(200, { error: { message: 'upstream failed', code: 502 } }))).toMatchObject({ kind: 'server', retryable: true });
    expect(await failedCall(reply(200, { error: { message: 'upstream overloaded', code: 503 } }))).toMatchObject({ kind: 'throttle', retryable: true });
    expect(await failedCall(reply(200, { error: { message: 'slow down', code: 429 } }))).toMatchObject({ kind: 'throttle', retryable: true });
  });

  it('fails for good once a retryable failure has used its attempts, saying how many', async () => {
    const call = await failedCall(reply(503, openAiError('overloaded')));
    expect(afterFailedCall(call, MAX_ATTEMPTS - 1, MAX_ATTEMPTS, half)).toEqual({ retry: false, error: `${call.message} (failed ${MAX_ATTEMPTS} attempts)` });
  });
});

describe('a successful model call', () => {
  it('carries what its reply stated about the rate limits, and nothing when the reply stated nothing', async () => {
    const completion = { choices: [{ message: { role: 'assistant', content: 'answer 0' } }], usage: { prompt_tokens: 2, completion_tokens: 3 } };
    script = reply(200, completion, { 'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '49', 'anthropic-ratelimit-requests-reset': new Date(Date.now() + 60_000).toISOString() });
    const stated = await executeTask(answerTask());
    expect(stated.call).toMatchObject({ ok: true, tokens: 5, limits: { requests: { limit: 50, remaining: 49 } }, sentAt: expect.any(Number) });
    script = reply(200, completion);
    const silent = await executeTask(answerTask());
    expect(silent.call).toEqual({ ok: true, tokens: 5 });
  });
});

describe('a failed judge call', () => {
  const judgeTask = (): WorkerTask =>
    answerTask({
      kind: 'observation',
      model: undefined,
      answer: { answer: 'answer 0', think: null, nb_tokens_prompt: null, nb_tokens_completion: null, nb_tool_calls: null, execution_time: 1, context: null, retrieval_context: null },
      inline: [],
      judge: { resultId: 12, name: 'judge_exactness', params: null, model: { name: 'judge-test', base_url: baseUrl, api_key: KEY } },
    });

  it('is classified as a model call is, and records no observation to retry it', async () => {
    script = reply(429, openAiError('Rate limit reached'), { 'retry-after': '3' });
    const outcome = await executeTask(judgeTask());
    expect(outcome.call).toMatchObject({ ok: false, kind: 'throttle', retryable: true, retryAfterMs: 3000 });
    expect(outcome.observations).toEqual([]);
  });

  /** contextual_relevancy over three retrieval chunks: one judge request per chunk. */
  const chunkedTask = (): WorkerTask => {
    const task = judgeTask();
    return { ...task, answer: { ...task.answer!, retrieval_context: ['one', 'two', 'three'] }, row: { ...task.row }, judge: { ...task.judge!, name: 'contextual_relevancy' } };
  };
  const verdictReply = reply(200, { choices: [{ message: { role: 'assistant', content: '{"verdicts": [{"statement": "s", "verdict": "yes", "reason": "r"}]}' } }], usage: { prompt_tokens: 5, completion_tokens: 6 } });

  it('says how many requests a judge of several calls sent, so that each counts against the budget', async () => {
    let requests = 0;
    script = (req, res) => (requests++, verdictReply(req, res));
    const outcome = await executeTask(chunkedTask());
    expect(requests).toBe(3);
    expect(outcome.call).toEqual({ ok: true, tokens: 33, calls: 3 });
    expect(outcome.observations).toEqual([expect.objectContaining({ score: 1, error_msg: null })]);
    // A judge of one call says nothing more: one start is one request.
    script = verdictReply;
    expect((await executeTask(judgeTask())).call).not.toHaveProperty('calls');
  });

  it('counts the requests sent before a judge of several calls was refused', async () => {
    let requests = 0;
    script = (req, res) => (++requests === 2 ? reply(429, openAiError('Rate limit reached'), { 'retry-after': '1' }) : verdictReply)(req, res);
    const outcome = await executeTask(chunkedTask());
    expect(outcome.call).toMatchObject({ ok: false, kind: 'throttle', calls: 2 });
  });

  it('that answered with a verdict it cannot read is a failed observation of a call that succeeded, not a retry', async () => {
    script = reply(200, { choices: [{ message: { role: 'assistant', content: 'I would rather not say.' } }], usage: { prompt_tokens: 5, completion_tokens: 6 } });
    const outcome = await executeTask(judgeTask());
    expect(outcome.call).toEqual({ ok: true, tokens: 11 });
    expect(outcome.observations).toEqual([expect.objectContaining({ resultId: 12, score: null, error_msg: expect.any(String) })]);
  });
});

describe('callFailure', () => {
  it('keeps the retryable flag of a provider failure of no other kind', () => {
    expect(callFailure(new ProviderError('calling m failed: bad URL', false))).toEqual({ ok: false, kind: 'other', retryable: false, message: 'calling m failed: bad URL' });
    expect(callFailure(new ProviderError('try again', true))).toEqual({ ok: false, kind: 'other', retryable: true, message: 'try again' });
  });

  it('fails for good on anything that is not a provider failure (a bug), saying it was unexpected', () => {
    expect(callFailure(new TypeError('x is undefined'))).toEqual({ ok: false, kind: 'other', retryable: false, message: 'unexpected error: x is undefined' });
    expect(callFailure('a string')).toEqual({ ok: false, kind: 'other', retryable: false, message: 'unexpected error: a string' });
  });
});
