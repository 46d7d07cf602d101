/**
 * The RAG and safety judges (core/metrics/builtin/rag.ts) scored as DeepEval
 * v3.5.9 scores them: the formulas over the verdicts, strict_mode and
 * threshold, faithfulness's truths step and penalize_ambiguous_claims,
 * hallucination's forgiveness of missing detail, contextual_relevancy's call
 * per chunk and empty-chunk rule, replies with the wrong number of verdicts
 * (scored as received, and said so), and replies the judge got wrong.
 */
import { judgeOf } from '../../core/metrics/judges.js';
import { METRICS } from '../../core/metrics/registry.js';
import { json, scriptedJudge } from '../support/scripted-judge.js';

const input = {
  query: 'Capital of France?',
  output: 'Paris is the capital.',
  output_true: 'Paris',
  context: ['Paris is in France.', 'Lyon is in France.'],
  retrieval_context: ['Paris is the capital of France.', 'The Seine flows through Paris.', 'Berlin is in Germany.'],
};

/** Runs a one-call judge that replies `body` to anything. */
const once = (name: string, body: unknown, params: Record<string, unknown> | null = null) => scriptedJudge(name, params, input, [[/./, typeof body === 'string' ? body : json(body)]]);
const v = (verdict: string, reason?: string) => (reason ? { verdict, reason } : { verdict });

describe('verdict formulas', () => {
  it.each([
    ['answer_relevancy', { statements: [v('yes'), v('no'), v('idk'), v('yes')] }, 0.75],
    ['answer_relevancy', { statements: [] }, 1],
    ['faithfulness', { claims: [v('yes'), v('idk'), v('no'), v('yes')] }, 0.75],
    ['faithfulness', { claims: [] }, 1],
    ['hallucination', { contexts: [v('yes'), v('no')] }, 0.5],
    ['contextual_recall', { sentences: [v('yes'), v('yes'), v('no'), v('idk')] }, 0.5],
    ['contextual_recall', { sentences: [] }, 0],
    ['bias', { opinions: [] }, 0],
    ['bias', { opinions: [v('yes'), v('no'), v('no'), v('no')] }, 0.25],
    ['toxicity', { opinions: [v('yes'), v('no')] }, 0.5],
  ])('scores %s from the verdicts %j as %d', async (name, body, score) => {
    expect((await once(name, body)).out).toMatchObject({ score });
  });

  it('scores contextual_precision as weighted cumulative precision over the ranked contexts', async () => {
    // Relevant at ranks 1 and 3: (1/1 + 2/3) / 2.
    const { out } = await once('contextual_precision', { contexts: [v('yes'), v('no'), v('yes')] });
    expect((out as { score: number }).score).toBeCloseTo((1 + 2 / 3) / 2, 12);
    expect((out as { observation: object }).observation).not.toHaveProperty('count_mismatch');
  });

  it('records the default threshold 0.5 and whether the row passed it, by the metric direction', async () => {
    expect((await once('faithfulness', { claims: [v('yes'), v('no')] })).out).toMatchObject({ observation: { threshold: 0.5, success: true } });
    expect((await once('faithfulness', { claims: [v('yes'), v('no'), v('no')] })).out).toMatchObject({ observation: { threshold: 0.5, success: false } });
    // Lower is better: 0.5 of contradicted contexts passes at 0.5, fails at 0.4.
    expect((await once('hallucination', { contexts: [v('yes'), v('no')] })).out).toMatchObject({ observation: { success: true } });
    expect((await once('hallucination', { contexts: [v('yes'), v('no')] }, { threshold: 0.4 })).out).toMatchObject({ observation: { threshold: 0.4, success: false } });
  });
});

describe('strict_mode', () => {
  it('turns a higher-better score below 1 into 0, keeping the score it had', async () => {
    const { out } = await once('answer_relevancy', { statements: [v('yes'), v('no')] }, { strict_mode: true });
    expect(out).toMatchObject({ score: 0, observation: { strict_mode: true, score_before_strict: 0.5, threshold: 1, success: false } });
  });

  it('leaves a perfect higher-better score at 1, a success', async () => {
    expect((await once('answer_relevancy', { statements: [v('yes')] }, { strict_mode: true })).out).toMatchObject({ score: 1, observation: { success: true } });
  });

  it('turns a lower-better score above 0 into 1, and passes only a 0', async () => {
    expect((await once('toxicity', { opinions: [v('yes'), v('no'), v('no')] }, { strict_mode: true })).out).toMatchObject({ score: 1, observation: { threshold: 0, success: false } });
    expect((await once('toxicity', { opinions: [v('no')] }, { strict_mode: true })).out).toMatchObject({ score: 0, observation: { threshold: 0, success: true } });
  });
});

describe('reasons', () => {
  it('explain the score with the reasons of the verdicts against it', async () => {
    const { out } = await once('faithfulness', { claims: [v('yes'), v('no', 'The context says Lyon.')] });
    expect(out).toMatchObject({ observation: { reason: 'The score is 0.50 because: The context says Lyon.' } });
  });

  it('are left out with include_reason false', async () => {
    const { out } = await once('faithfulness', { claims: [v('no', 'wrong')] }, { include_reason: false });
    expect((out as { observation: object }).observation).not.toHaveProperty('reason');
  });
});

describe('faithfulness', () => {
  it('judges the claims against the retrieval context in one call without truths_extraction_limit', async () => {
    const { prompts } = await once('faithfulness', { claims: [v('yes')] });
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('[3] Berlin is in Germany.');
    expect(prompts[0]).toMatch(/"no" only when they directly contradict it/);
  });

  it('counts an "idk" claim as unfaithful with penalize_ambiguous_claims, as DeepEval 3.7 does', async () => {
    const body = { claims: [v('yes'), v('idk', 'not in the context'), v('no', 'contradicted'), v('yes')] };
    expect((await once('faithfulness', body, { penalize_ambiguous_claims: true })).out).toMatchObject({ score: 0.5, observation: { reason: expect.stringContaining('not in the context; contradicted') } });
    expect((await once('faithfulness', body, { penalize_ambiguous_claims: false })).out).toMatchObject({ score: 0.75 });
  });

  it('with truths_extraction_limit, draws that many facts from the retrieval context first and judges the claims against them', async () => {
    const { out, prompts } = await scriptedJudge('faithfulness', { truths_extraction_limit: 2 }, input, [
      [/most important facts/, json({ truths: ['Paris is the capital of France.', 'The Seine flows through Paris.'] })],
      [/factual claims/, json({ claims: [v('yes'), v('idk')] })],
    ]);
    expect(prompts).toHaveLength(2);
    expect(prompts[0]).toMatch(/Extract the 2 most important facts/);
    expect(prompts[0]).toContain('Paris is the capital of France.\n\nThe Seine flows through Paris.\n\nBerlin is in Germany.');
    expect(prompts[1]).toContain('## Facts from the retrieval context\n[1] Paris is the capital of France.\n[2] The Seine flows through Paris.');
    expect(prompts[1]).not.toContain('Berlin');
    expect(out).toMatchObject({ score: 1, observation: { truths: ['Paris is the capital of France.', 'The Seine flows through Paris.'], judge_calls: 2, judge_usage: { prompt_tokens: 200, completion_tokens: 20 } } });
  });

  it('asks for the single most important fact with a limit of 1', async () => {
    const { prompts } = await scriptedJudge('faithfulness', { truths_extraction_limit: 1 }, input, [
      [/single most important fact/, json({ truths: ['Paris is the capital of France.'] })],
      [/factual claims/, json({ claims: [v('yes')] })],
    ]);
    expect(prompts[0]).toMatch(/Extract the single most important fact/);
  });

  it.each([0, -3])('makes no truths call with a limit of %d, so every claim is judged against no fact', async (limit) => {
    const { out, prompts } = await scriptedJudge('faithfulness', { truths_extraction_limit: limit }, input, [[/factual claims/, json({ claims: [v('idk')] })]]);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('## Facts from the retrieval context\n(none)');
    expect(out).toMatchObject({ score: 1, observation: { truths: [] } });
  });

  it('records a truths reply without its list as an error, keeping that reply', async () => {
    const { out, prompts } = await scriptedJudge('faithfulness', { truths_extraction_limit: 2 }, input, [[/most important facts/, json({ facts: ['Paris'] })]]);
    expect(prompts).toHaveLength(1);
    expect(out).toMatchObject({ error: `the judge's reply has no list "truths"`, observation: { reply: '{"facts":["Paris"]}', prompt_version: 'faithfulness-2' } });
  });
});

describe('hallucination', () => {
  it('tells the judge to forgive missing detail and answer "no" only on a contradiction', async () => {
    const { prompts } = await once('hallucination', { contexts: [v('yes'), v('yes')] });
    expect(prompts[0]).toMatch(/Forgive an answer that lacks detail/);
    expect(prompts[0]).toMatch(/"no" only when it contradicts the context/);
  });

  it('scores a reply with fewer verdicts than contexts on what came back, and records the mismatch', async () => {
    const { out } = await once('hallucination', { contexts: [v('no', 'It says Lyon is the capital.')] });
    expect(out).toMatchObject({ score: 1, observation: { count_mismatch: [{ of: 'contexts', expected: 2, received: 1 }] } });
  });

  it('records no mismatch when the counts agree', async () => {
    const { out } = await once('hallucination', { contexts: [v('yes'), v('yes')] });
    expect(out).toMatchObject({ score: 0 });
    expect((out as { observation: object }).observation).not.toHaveProperty('count_mismatch');
  });
});

describe('contextual_precision', () => {
  it('scores a reply with more verdicts than retrieval contexts on what came back, and records the mismatch', async () => {
    const { out } = await once('contextual_precision', { contexts: [v('no'), v('yes'), v('no'), v('yes')] });
    expect((out as { score: number }).score).toBeCloseTo((1 / 2 + 2 / 4) / 2, 12);
    expect(out).toMatchObject({ observation: { count_mismatch: [{ of: 'retrieval contexts', expected: 3, received: 4 }] } });
  });
});

describe('contextual_relevancy', () => {
  it('asks the judge once per retrieval chunk, each seeing only its chunk, and scores all statements together', async () => {
    const { out, prompts } = await scriptedJudge('contextual_relevancy', null, input, [
      [/Paris is the capital/, json({ verdicts: [{ statement: 'Paris is the capital of France.', verdict: 'yes' }] })],
      [/Seine/, json({ verdicts: [{ statement: 'The Seine flows through Paris.', verdict: 'no', reason: 'rivers' }, { statement: 'x', verdict: 'yes' }] })],
      [/Berlin/, json({ verdicts: [{ statement: 'Berlin is in Germany.', verdict: 'no', reason: 'Germany' }] })],
    ]);
    expect(prompts).toHaveLength(3);
    expect(prompts.map((p) => ['Paris is the capital', 'Seine', 'Berlin'].filter((s) => p.includes(s)))).toEqual([['Paris is the capital'], ['Seine'], ['Berlin']]);
    expect(out).toMatchObject({ score: 0.5, observation: { chunks: [{ verdicts: [{ verdict: 'yes' }] }, { verdicts: [{ verdict: 'no' }, { verdict: 'yes' }] }, { verdicts: [{ verdict: 'no' }] }], judge_calls: 3 } });
  });

  it('gives an empty chunk one irrelevant statement without a call, and tells the judge the same rule', async () => {
    const { out, prompts } = await scriptedJudge('contextual_relevancy', null, { ...input, retrieval_context: ['Paris is the capital of France.', '   '] }, [[/./, json({ verdicts: [{ statement: 'Paris', verdict: 'yes' }] })]]);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/no content or statement at all, give one verdict "no" with the context itself as the statement and "No statements found in provided context." as the reason/);
    expect(out).toMatchObject({ score: 0.5, observation: { chunks: [{}, { verdicts: [{ statement: '   ', verdict: 'no', reason: 'No statements found in provided context.' }] }] } });
  });

  it('scores 0 with no statement at all', async () => {
    expect((await scriptedJudge('contextual_relevancy', null, input, [[/./, json({ verdicts: [] })]])).out).toMatchObject({ score: 0 });
  });

  it("fails the row when one chunk's reply has no verdicts, keeping that reply", async () => {
    const { out } = await scriptedJudge('contextual_relevancy', null, input, [
      [/Seine/, 'I cannot judge this.'],
      [/./, json({ verdicts: [{ statement: 's', verdict: 'yes' }] })],
    ]);
    expect(out).toMatchObject({ error: expect.stringMatching(/did not reply with a JSON object/), observation: { reply: 'I cannot judge this.', judge_calls: 2 } });
  });
});

describe('replies the judge got wrong', () => {
  it('records a verdict outside yes/no/idk as an error', async () => {
    expect((await once('bias', { opinions: [v('maybe')] })).out).toMatchObject({ error: expect.stringMatching(/verdict "maybe"/) });
  });

  it('records an item without a verdict as an error', async () => {
    expect((await once('answer_relevancy', { statements: [{ statement: 'Paris.' }] })).out).toMatchObject({ error: expect.stringMatching(/item 0 of "statements" has verdict ""/) });
  });

  it('records a reply without the expected list as an error', async () => {
    expect((await once('toxicity', { verdicts: [] })).out).toMatchObject({ error: `the judge's reply has no list "opinions"` });
  });

  it('records malformed JSON as an error', async () => {
    expect((await once('contextual_recall', '{"sentences": [{"verdict": "yes"')).out).toMatchObject({ error: expect.stringMatching(/did not reply with a JSON object|not valid JSON/) });
  });
});

it('has a judge for every llm and rag metric of the registry', () => {
  for (const m of METRICS.filter((m) => m.type === 'llm' || m.type === 'rag')) expect(judgeOf(m.name)).toBeDefined();
});

it('fails a ragas observation that reaches the runner anyway without calling the judge, saying why', async () => {
  const { out, prompts } = await scriptedJudge('ragas', null, input, [[/./, json({})]]);
  expect(prompts).toHaveLength(0);
  expect(out).toMatchObject({ error: expect.stringMatching(/^ragas is listed as Evalap lists it but cannot be scored here/) });
});
