import { afterFailedCall, afterLostWorker, Delays, HOLD_LIMIT_MS, isRetryableFailure, releaseDelaySec } from '../../core/backoff.js';
import { isInline } from '../../core/metrics/score.js';
import type { ChatModel } from '../../core/providers/openai.js';
import type { ResultConfig, RowState } from '../../core/store/work.js';
import { judgeTasks, plan, staleConfigs, type Resolved, type WorkTask } from '../../runner/plan.js';

const settings = { timeoutMs: 30_000, ecoZone: 'FR' };
const chatModel: ChatModel = { name: 'gpt-test', base_url: 'http://model.test/v1', api_key: 'k' } as ChatModel;
const judgeModel: ChatModel = { name: 'judge-test', base_url: 'http://judge.test/v1', api_key: 'j' } as ChatModel;
const exact: ResultConfig = { id: 11, version: 1, name: 'exact_match', aliasedName: 'exact_match', params: null };
const judged: ResultConfig = { id: 12, version: 1, name: 'judge_exactness', aliasedName: 'judge_exactness', params: { x: 1 } };

function config(over: Partial<Resolved> = {}): Resolved {
  return {
    id: 7,
    status: 'running',
    datasetId: 3,
    hasRawOutput: false,
    numTotal: 10,
    sample: null,
    model: { name: 'gpt-test', base_url: 'http://model.test/v1' },
    modelApiKey: null,
    judgeModel: null,
    judgeApiKey: null,
    columnsMap: null,
    results: [exact, judged],
    chatModel,
    judge: judgeModel,
    ...over,
  };
}

const answerOf = (over: Partial<NonNullable<RowState['answer']>> = {}): NonNullable<RowState['answer']> => ({
  answer: 'Paris',
  think: null,
  context: null,
  retrieval_context: null,
  nb_tokens_prompt: 3,
  nb_tokens_completion: 1,
  nb_tool_calls: null,
  execution_time: 0.2,
  emission_carbon: null,
  error_msg: null,
  ...over,
});

function state(over: Partial<RowState> = {}): RowState {
  return { experiment_id: 7, num_line: 4, data: { query: 'capital?', output_true: 'Paris' }, answer: null, observed: [], results: ['11.1', '12.1'], ...over };
}

const answerTask: WorkTask = { type: 'answer', experiment_id: 7, num_line: 4 };
const observationTask: WorkTask = { type: 'observation', experiment_id: 7, result_id: 12, num_line: 4 };

describe('plan', () => {
  it('relies on exact_match being scored inline and judge_exactness by a judge task', () => {
    expect(isInline(exact.name)).toBe(true);
    expect(isInline(judged.name)).toBe(false);
  });

  it('drops a task whose experiment is unknown, stopped, or whose row state was not found', () => {
    expect(plan(answerTask, 0, undefined, state(), settings)).toEqual({ kind: 'drop' });
    expect(plan(answerTask, 0, config({ status: 'stopped' }), state(), settings)).toEqual({ kind: 'drop' });
    expect(plan(observationTask, 0, config(), undefined, settings)).toEqual({ kind: 'drop' });
  });

  it('fails the answer and every missing result of a row that does not exist in the dataset', () => {
    expect(plan(answerTask, 0, config(), state({ data: null, observed: [11] }), settings)).toEqual({
      kind: 'fail',
      error: 'row 4 does not exist in the dataset',
      results: [judged],
      withAnswer: true,
    });
  });

  it('fails a missing row without an answer when the row already has one or the experiment has no model', () => {
    expect(plan(answerTask, 0, config(), state({ data: null, answer: answerOf() }), settings)).toMatchObject({ kind: 'fail', withAnswer: false });
    expect(plan(answerTask, 0, config({ model: null, chatModel: null }), state({ data: null }), settings)).toMatchObject({ kind: 'fail', withAnswer: false });
  });

  it('treats an observation whose result is already observed (or gone) as done', () => {
    expect(plan(observationTask, 0, config(), state({ answer: answerOf(), observed: [12] }), settings)).toEqual({ kind: 'done' });
    expect(plan(observationTask, 0, config({ results: [exact] }), state({ answer: answerOf() }), settings)).toEqual({ kind: 'done' });
  });

  it('fails an observation whose row has no answer, or only a failed one, without touching the answer', () => {
    const expected = { kind: 'fail', error: 'the row has no answer to score', results: [judged], withAnswer: false };
    expect(plan(observationTask, 0, config(), state(), settings)).toEqual(expected);
    expect(plan(observationTask, 0, config(), state({ answer: answerOf({ error_msg: 'boom' }) }), settings)).toEqual(expected);
  });

  it('dispatches an observation to its judge with the stored answer, limited by the judge model', () => {
    const decision = plan(observationTask, 2, config({ columnsMap: { query: 'question' } }), state({ data: { question: 'capital?' }, answer: answerOf() }), settings);
    expect(decision).toEqual({
      kind: 'dispatch',
      wire: {
        kind: 'observation',
        attempt: 2,
        experimentId: 7,
        numLine: 4,
        row: { question: 'capital?', query: 'capital?' },
        timeoutMs: 30_000,
        ecoZone: 'FR',
        answer: { answer: 'Paris', think: null, context: null, retrieval_context: null, nb_tokens_prompt: 3, nb_tokens_completion: 1, nb_tool_calls: null, execution_time: 0.2, emission_carbon: null },
        inline: [],
        judge: { resultId: 12, name: 'judge_exactness', params: { x: 1 }, model: judgeModel },
      },
      pending: [judged],
      model: judgeModel,
    });
  });

  it('dispatches an observation whose experiment has no judge without a model limit', () => {
    const decision = plan(observationTask, 0, config({ judge: null }), state({ answer: answerOf() }), settings);
    expect(decision).toMatchObject({ kind: 'dispatch', wire: { judge: { model: null } } });
    expect(decision.kind === 'dispatch' && decision.model).toBeUndefined();
  });

  it('dispatches an observation of an experiment without a model on the dataset row alone, with no answer', () => {
    const decision = plan(observationTask, 0, config({ model: null, chatModel: null }), state(), settings);
    expect(decision).toMatchObject({ kind: 'dispatch', pending: [judged] });
    expect(decision.kind === 'dispatch' && decision.wire.answer).toBeUndefined();
  });

  it('fails the results still missing of a row whose answer failed for good, and is done when none are', () => {
    const failed = answerOf({ answer: null, error_msg: 'timeout' });
    expect(plan(answerTask, 0, config(), state({ answer: failed, observed: [11] }), settings)).toEqual({ kind: 'fail', error: 'no answer: timeout', results: [judged], withAnswer: false });
    expect(plan(answerTask, 0, config(), state({ answer: failed, observed: [11, 12] }), settings)).toEqual({ kind: 'done' });
  });

  it('commits the judge tasks of an answered row with no inline metric left, without a worker', () => {
    expect(plan(answerTask, 0, config(), state({ answer: answerOf(), observed: [11] }), settings)).toEqual({
      kind: 'commit',
      followUps: [{ type: 'observation', experiment_id: 7, result_id: 12, num_line: 4 }],
    });
  });

  it('dispatches an answered row whose inline metrics are missing with its stored answer and no model call', () => {
    const decision = plan(answerTask, 0, config(), state({ answer: answerOf({ answer: null }) }), settings);
    expect(decision).toMatchObject({ kind: 'dispatch', pending: [exact, judged], wire: { kind: 'answer', answer: { answer: '' }, inline: [{ resultId: 11, name: 'exact_match', params: null }] } });
    expect(decision.kind === 'dispatch' && (decision.model ?? decision.wire.model)).toBeUndefined();
  });

  it('fails the answer and all missing results with the key error when the stored key cannot be opened', () => {
    const decision = plan(answerTask, 0, config({ chatModel: null, judge: null, keyError: 'cannot decrypt' }), state(), settings);
    expect(decision).toEqual({ kind: 'fail', error: 'cannot decrypt', results: [exact, judged], withAnswer: true });
  });

  it('fails an answer task of an experiment that has no model to generate with', () => {
    const decision = plan(answerTask, 0, config({ model: null, chatModel: null }), state(), settings);
    expect(decision).toEqual({ kind: 'fail', error: 'the experiment has no model to generate answers with', results: [exact, judged], withAnswer: true });
  });

  it('dispatches an unanswered row to its model with the inline metrics, limited by that model', () => {
    const decision = plan(answerTask, 1, config(), state({ observed: [12] }), settings);
    expect(decision).toEqual({
      kind: 'dispatch',
      wire: { kind: 'answer', attempt: 1, experimentId: 7, numLine: 4, row: { query: 'capital?', output_true: 'Paris' }, timeoutMs: 30_000, ecoZone: 'FR', model: chatModel, inline: [{ resultId: 11, name: 'exact_match', params: null }] },
      pending: [exact],
      model: chatModel,
    });
  });
});

describe('judgeTasks', () => {
  it('makes an observation task for each judged result only', () => {
    expect(judgeTasks(7, 4, [exact, judged])).toEqual([{ type: 'observation', experiment_id: 7, result_id: 12, num_line: 4 }]);
  });
});

describe('staleConfigs', () => {
  it('names the experiments whose cached configuration lacks a result version the rows know', () => {
    const configs = new Map<number, Resolved | undefined>([
      [7, config()],
      [8, config({ id: 8 })],
      [9, undefined],
    ]);
    const states = [state(), state({ experiment_id: 8, results: ['11.2', '12.1'] }), state({ experiment_id: 9, results: [] })];
    expect(staleConfigs(configs, states)).toEqual([8]);
  });

  it('takes a missing configuration as stale when its rows know any result', () => {
    expect(staleConfigs(new Map([[7, undefined]]), [state()])).toEqual([7]);
  });
});

// The decisions after an attempt failed, the other half of what happens to a task (core/backoff.ts).
describe('retry policy', () => {
  const call = { retryable: true, message: 'HTTP 503' };
  const half = () => 0.5;

  it('retries a retryable failure after a jittered back-off that doubles with the attempt', () => {
    expect(afterFailedCall(call, 0, 3, half)).toEqual({ retry: true, delayMs: 250 });
    expect(afterFailedCall(call, 1, 3, half)).toEqual({ retry: true, delayMs: 500 });
    expect(Delays.taskRetryMs(10, () => 1)).toBe(20_000);
  });

  it('waits as long as the provider said when it said', () => {
    expect(afterFailedCall({ ...call, retryAfterMs: 7000 }, 0, 3, half)).toEqual({ retry: true, delayMs: 7000 });
  });

  it('fails a retryable failure for good once its attempts are exhausted, saying how many', () => {
    expect(afterFailedCall(call, 2, 3, half)).toEqual({ retry: false, error: 'HTTP 503 (failed 3 attempts)' });
  });

  it('fails a failure no retry can mend at once, with its message alone', () => {
    expect(afterFailedCall({ retryable: false, message: 'HTTP 400' }, 0, 3, half)).toEqual({ retry: false, error: 'HTTP 400' });
  });

  it('reruns a task whose worker died at once, until its attempts are exhausted', () => {
    expect(afterLostWorker(1, 3)).toEqual({ retry: true, delayMs: 0 });
    expect(afterLostWorker(2, 3)).toEqual({ retry: false, error: 'the worker running this task died 3 times' });
  });

  it('holds a back-off up to the hold limit in the runner and hands a longer one back to SQS in whole seconds', () => {
    expect(releaseDelaySec(HOLD_LIMIT_MS)).toBeUndefined();
    expect(releaseDelaySec(HOLD_LIMIT_MS + 1)).toBe(Math.ceil((HOLD_LIMIT_MS + 1) / 1000));
  });

  it('counts only a failed retryable call as one the worker hands its queue back for', () => {
    expect(isRetryableFailure({ ok: false, retryable: true })).toBe(true);
    expect(isRetryableFailure({ ok: false, retryable: false })).toBe(false);
    expect(isRetryableFailure({ ok: true })).toBe(false);
    expect(isRetryableFailure(undefined)).toBe(false);
  });
});
