/**
 * What Evalap's judges are shown and how they are called
 * (evalap/api/metrics/judge_*.py: the fields each template renders, its
 * scale, temperature 0.2 overridden by the judge model's sampling_params, the
 * judge model's system_prompt as the only system message).
 */
import { getMetric } from '../../core/metrics/registry.js';
import { judgeMessages, judgeOf, judgeModel, runJudge } from '../../core/metrics/judges.js';
import type { ChatAnswer, ChatMessage, ChatModel } from '../../core/providers/openai.js';

const input = { query: 'QUERY-MARK', output_true: 'REFERENCE-MARK', output: 'OUTPUT-MARK' };
const model: ChatModel = { name: 'judge', base_url: 'http://judge.invalid/v1' };
const prompt = (name: string) => judgeOf(name)!.prompt(input, {});

describe("Evalap's judges show the fields Evalap's templates render", () => {
  it.each([
    ['judge_notator', ['query', 'output_true', 'output']],
    ['judge_exactness', ['query', 'output_true', 'output']],
    ['judge_precision', ['query', 'output_true', 'output']],
    ['judge_rambling', ['query', 'output_true', 'output']],
    ['judge_relevant', ['query', 'output_true', 'output']],
    ['judge_completude', ['output_true', 'output']],
  ])('%s shows %j and requires exactly those fields', (name, shown) => {
    const text = prompt(name);
    for (const [field, mark] of [['query', 'QUERY-MARK'], ['output_true', 'REFERENCE-MARK'], ['output', 'OUTPUT-MARK']]) {
      expect([field, text.includes(mark)]).toEqual([field, shown.includes(field)]);
    }
    expect([...getMetric(name)!.require].sort()).toEqual([...shown].sort());
  });

  it.each([
    ['judge_notator', /from 1 to 10/, [1, 10]],
    ['judge_exactness', /Reply 1 if .*, 0 if/, [0, 1]],
    ['judge_precision', /expected answer contained in the answer to evaluate\? Reply 1 if .*, 0 if/, [0, 1]],
    ['judge_completude', /from 0 to 100/, [0, 100]],
    ['judge_rambling', /from 1 to 10: 1 means no rambling/, [1, 10]],
    ['judge_relevant', /from 1 to 10: 10 means every essential element/, [1, 10]],
  ])('%s asks for its scale and a bare number', (name, scale, range) => {
    expect(prompt(name)).toMatch(scale);
    expect(prompt(name)).toMatch(/alone, nothing else\.$/);
    expect(getMetric(name)!.range).toEqual(range);
  });

  it('rates rambling with lower is better', () => {
    expect(getMetric('judge_rambling')!.higherIsBetter).toBe(false);
  });
});

describe('judge calls', () => {
  it('sample at temperature 0.2 unless the judge model sets one', () => {
    expect(judgeModel(model).sampling_params).toEqual({ temperature: 0.2 });
    expect(judgeModel({ ...model, sampling_params: { temperature: 0, max_tokens: 5 } }).sampling_params).toEqual({ temperature: 0, max_tokens: 5 });
    expect(judgeModel({ ...model, sampling_params: { max_tokens: 5 } }).sampling_params).toEqual({ temperature: 0.2, max_tokens: 5 });
  });

  it("send no system message for Evalap's judges, unless the judge model has a system_prompt", () => {
    expect(judgeMessages(judgeOf('judge_precision')!, model, input, {}).map((m) => m.role)).toEqual(['user']);
    expect(judgeMessages(judgeOf('judge_precision')!, { system_prompt: 'Tu es un juge.' }, input, {})[0]).toEqual({ role: 'system', content: 'Tu es un juge.' });
  });

  it("replace our JSON judges' own system message with the judge model's system_prompt", () => {
    expect(judgeMessages(judgeOf('faithfulness')!, model, input, {})[0].content).toMatch(/JSON/);
    expect(judgeMessages(judgeOf('faithfulness')!, { system_prompt: 'Be fair.' }, input, {})[0]).toEqual({ role: 'system', content: 'Be fair.' });
  });

  it('pass the judge model with its temperature and system prompt to the call', async () => {
    let called: { model: ChatModel; messages: ChatMessage[] } | undefined;
    const answer: ChatAnswer = { answer: '1', think: null, nb_tokens_prompt: 1, nb_tokens_completion: 1, nb_tool_calls: null, execution_time: 1 };
    const out = await runJudge('judge_exactness', null, input, { ...model, system_prompt: 'Sois strict.' }, async (m, messages) => {
      called = { model: m, messages };
      return answer;
    });
    expect(out).toMatchObject({ score: 1 });
    expect(called!.model.sampling_params).toEqual({ temperature: 0.2 });
    expect(called!.messages[0]).toEqual({ role: 'system', content: 'Sois strict.' });
  });
});
