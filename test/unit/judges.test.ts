import { judgeOf, runJudge } from '../../core/metrics/judges.js';
import { parseJudgeReply } from '../../core/metrics/judge-reply.js';
import type { ChatAnswer, ChatMessage, ChatModel } from '../../core/providers/openai.js';

const reply = (answer: string): ChatAnswer => ({ answer, think: null, nb_tokens_prompt: 120, nb_tokens_completion: 30, nb_tool_calls: null, execution_time: 5 });
const input = { query: 'Capital of France?', output: 'Paris is the capital.', output_true: 'Paris', context: ['Paris is in France.', 'Lyon is in France.'], retrieval_context: ['Paris is the capital of France.', 'The Seine flows through Paris.', 'Berlin is in Germany.'] };

const JUDGE: ChatModel = { name: 'judge', base_url: 'http://judge.invalid/v1' };

async function judge(name: string, answer: string, params: Record<string, unknown> | null = null) {
  const seen: ChatMessage[][] = [];
  const out = await runJudge(name, params, input, JUDGE, async (_model, messages) => {
    seen.push(messages);
    return reply(answer);
  });
  return { out, messages: seen[0] };
}

describe('parseJudgeReply', () => {
  it.each([
    ['plain JSON', '{"score": 8, "reason": "ok"}'],
    ['a fenced block', 'Here you go:\n```json\n{"score": 8, "reason": "ok"}\n```'],
    ['prose around it', 'Sure! {"score": 8, "reason": "ok"} Hope this helps.'],
    ['a trailing comma', '{"score": 8, "reason": "ok",}'],
    ['braces inside strings', '{"reason": "uses {curly} braces", "score": 8}'],
  ])('reads %s', (_name, text) => {
    expect(parseJudgeReply(text).score).toBe(8);
  });

  it('refuses a reply without JSON, quoting its start', () => {
    expect(() => parseJudgeReply("I'm sorry, I can't evaluate this.")).toThrow(/did not reply with a JSON object: "I'm sorry/);
  });
});

describe('graded judges', () => {
  it('scores judge_notator from a bare number, keeping the reply, prompt version and token usage', async () => {
    const { out, messages } = await judge('judge_notator', '9');
    expect(out).toEqual({ score: 9, observation: expect.objectContaining({ reply: '9', prompt_version: 'notator-2', judge_usage: { prompt_tokens: 120, completion_tokens: 30 } }) });
    expect(messages).toHaveLength(1);
    expect(messages[0].content).toContain('<question>\nCapital of France?\n</question>');
    expect(messages[0].content).toContain('<reference_answer>\nParis\n</reference_answer>');
    expect(messages[0].content).toContain('<answer_to_evaluate>\nParis is the capital.\n</answer_to_evaluate>');
  });

  it('still reads our JSON reply, with its reason', async () => {
    expect((await judge('judge_notator', '{"reason": "correct", "score": "9"}')).out).toMatchObject({ score: 9, observation: { reason: 'correct' } });
  });

  it.each([
    ['judge_exactness', '1', 1],
    ['judge_precision', '0', 0],
    ['judge_completude', '75', 75],
    ['judge_rambling', '2', 2],
    ['judge_relevant', '10', 10],
  ])('reads %s on its own scale', async (name, text, score) => {
    expect((await judge(name, text)).out).toMatchObject({ score });
  });

  it('keeps a score outside the scale, as Evalap does', async () => {
    expect((await judge('judge_notator', '11')).out).toMatchObject({ score: 11 });
  });

  it('records a refusal as an error with the reply kept for audit', async () => {
    const { out } = await judge('judge_notator', 'As an AI I cannot grade this.');
    expect(out).toMatchObject({ error: expect.stringMatching(/did not reply with a JSON object/), observation: { reply: 'As an AI I cannot grade this.', prompt_version: 'notator-2' } });
  });

  it('renders a judge_adhoc template with the row and uses its scale', async () => {
    const { out, messages } = await judge('judge_adhoc', '{"score": 4, "reason": "fine"}', { prompt: 'Is "{{output}}" a good answer to {{query}}?', scale: [1, 5] });
    expect(messages.at(-1)!.content).toMatch(/^Is "Paris is the capital." a good answer to Capital of France\?/);
    expect(messages.at(-1)!.content).toContain('from 1 to 5');
    expect(out).toMatchObject({ score: 4 });
  });

  it('normalizes g_eval from 1–5 to 0–1 and follows the given steps', async () => {
    const { out, messages } = await judge('g_eval', '{"steps": [], "reason": "good", "score": 4}', { criteria: 'Correctness', evaluation_steps: ['Compare facts', 'Check units'] });
    expect(messages[1].content).toContain('1. Compare facts\n2. Check units');
    expect(out).toMatchObject({ score: 0.75, observation: { raw_score: 4 } });
  });
});
