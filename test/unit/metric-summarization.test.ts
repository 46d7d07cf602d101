/**
 * summarization as DeepEval v3.5.9 scores it: the lower of alignment (the
 * summary's claims the original supports; "idk" counts against) and
 * coverage (closed questions the original answers "yes" that the summary
 * answers too), each call seeing one text, with the breakdown kept.
 */
import { json, scriptedJudge, type Script } from '../support/scripted-judge.js';

const original = 'The council voted on Monday to build a new library. It will open in 2027 and cost 12 million euros, paid by the region.';
const input = { query: original, output: 'A new library, costing 12 million euros, will open in 2027.' };

const ALIGN = /factual claims the summary makes/;
const QUESTIONS = /closed questions about the text/;
const ANSWERS = /holds enough information to answer it/;
const TRUTHS = /most important fact/;
/** Answers the coverage questions from whichever text the prompt shows. */
const answers = (fromOriginal: string[], fromSummary: string[]) => (prompt: string) => json({ answers: prompt.includes('The council voted') ? fromOriginal : fromSummary });

const script = (over: Partial<Record<'align' | 'questions' | 'answers' | 'truths', Script[number][1]>> = {}): Script => [
  [TRUTHS, over.truths ?? json({ truths: ['A library will be built.', 'It opens in 2027.'] })],
  [ALIGN, over.align ?? json({ claims: [{ claim: 'A new library will open.', verdict: 'yes' }, { claim: 'It costs 12 million euros.', verdict: 'yes' }, { claim: 'It opens in 2027.', verdict: 'yes' }] })],
  [QUESTIONS, over.questions ?? json({ questions: ['Was a library approved?', 'Does it open in 2027?', 'Does the region pay?', 'Was the vote on Monday?'] })],
  [ANSWERS, over.answers ?? answers(['yes', 'yes', 'yes', 'yes'], ['yes', 'yes', 'no', 'no'])],
];

describe('summarization', () => {
  it('scores the lower of alignment and coverage, keeping both and every step', async () => {
    const { out, prompts } = await scriptedJudge('summarization', null, input, script());
    expect(prompts).toHaveLength(4);
    expect(out).toMatchObject({
      score: 0.5,
      observation: {
        score_breakdown: { Alignment: 1, Coverage: 0.5 },
        assessment_questions: ['Was a library approved?', 'Does it open in 2027?', 'Does the region pay?', 'Was the vote on Monday?'],
        coverage_verdicts: [{ question: 'Was a library approved?', original_verdict: 'yes', summary_verdict: 'yes' }, {}, { original_verdict: 'yes', summary_verdict: 'no' }, {}],
        success: true,
        reason: expect.stringContaining('the summary does not answer "Does the region pay?"'),
        judge_calls: 4,
        prompt_version: 'summarization-1',
      },
    });
  });

  it('asks for n questions (5 unless given) and answers them from each text in its own call', async () => {
    const { prompts } = await scriptedJudge('summarization', { n: 3 }, input, script());
    expect(prompts.find((p) => QUESTIONS.test(p))).toMatch(/^Write 3 closed questions/);
    const answerCalls = prompts.filter((p) => ANSWERS.test(p));
    expect(answerCalls).toHaveLength(2);
    expect(answerCalls.filter((p) => p.includes(original))).toHaveLength(1);
    expect(answerCalls.filter((p) => p.includes(input.output) && !p.includes('The council voted'))).toHaveLength(1);
    expect((await scriptedJudge('summarization', null, input, script())).prompts.find((p) => QUESTIONS.test(p))).toMatch(/^Write 5 closed questions/);
  });

  it('uses the assessment_questions given instead of writing its own, and treats an empty list as none', async () => {
    const given = await scriptedJudge('summarization', { assessment_questions: ['Is it a library?', 'Does it cost 12 million?'] }, input, script({ answers: answers(['yes', 'no'], ['yes', 'yes']) }));
    expect(given.prompts.some((p) => QUESTIONS.test(p))).toBe(false);
    expect(given.prompts.filter((p) => ANSWERS.test(p))[0]).toContain('[1] Is it a library?\n[2] Does it cost 12 million?');
    // Only the question the original answers counts: 1 of 1.
    expect(given.out).toMatchObject({ score: 1, observation: { score_breakdown: { Coverage: 1 } } });
    expect((await scriptedJudge('summarization', { assessment_questions: [] }, input, script())).prompts.some((p) => QUESTIONS.test(p))).toBe(true);
  });

  it('counts unsupported claims ("idk") against alignment, unlike faithfulness', async () => {
    const { out } = await scriptedJudge('summarization', null, input, script({ align: json({ claims: [{ verdict: 'yes' }, { verdict: 'idk', reason: 'not in the original' }, { verdict: 'no', reason: 'it is 2027' }, { verdict: 'yes' }] }) }));
    expect(out).toMatchObject({ score: 0.5, observation: { score_breakdown: { Alignment: 0.5, Coverage: 0.5 } } });
  });

  it('scores 0 when the summary makes no claim, or the original answers no question', async () => {
    expect((await scriptedJudge('summarization', null, input, script({ align: json({ claims: [] }) }))).out).toMatchObject({ score: 0, observation: { score_breakdown: { Alignment: 0 } } });
    expect((await scriptedJudge('summarization', null, input, script({ answers: answers(['no', 'no', 'no', 'no'], ['yes', 'yes', 'yes', 'yes']) }))).out).toMatchObject({
      score: 0,
      observation: { score_breakdown: { Alignment: 1, Coverage: 0 } },
    });
  });

  it('with truths_extraction_limit, judges the claims against that many facts drawn from the original', async () => {
    const { out, prompts } = await scriptedJudge('summarization', { truths_extraction_limit: 2 }, input, script());
    expect(prompts[0]).toMatch(/^Extract the 2 most important facts/);
    const align = prompts.find((p) => ALIGN.test(p))!;
    expect(align).toContain('## Facts from the original text\n[1] A library will be built.\n[2] It opens in 2027.');
    expect(align).not.toContain('The council voted');
    expect(out).toMatchObject({ observation: { truths: ['A library will be built.', 'It opens in 2027.'], judge_calls: 5 } });
  });

  it('applies strict_mode to each part, as DeepEval does', async () => {
    const { out } = await scriptedJudge('summarization', { strict_mode: true }, input, script());
    expect(out).toMatchObject({ score: 0, observation: { score_breakdown: { Alignment: 1, Coverage: 0 }, threshold: 1, success: false } });
  });

  it('scores fewer answers than questions on what came back, and records the mismatch', async () => {
    const { out } = await scriptedJudge('summarization', null, input, script({ answers: answers(['yes', 'yes'], ['yes', 'no']) }));
    expect(out).toMatchObject({ score: 0.5, observation: { count_mismatch: [{ of: 'questions', expected: 4, received: 2 }] } });
  });

  it.each([
    ['different answer counts from the two texts', script({ answers: answers(['yes', 'yes', 'yes', 'yes'], ['yes']) }), /answered 4 questions from the original and 1 from the summary/],
    ['more answers than questions', script({ answers: answers(['yes', 'yes', 'yes', 'yes', 'yes'], ['yes', 'yes', 'yes', 'yes', 'yes']) }), /gave 5 answers to 4 questions/],
    ['an answer that is not yes or no', script({ answers: answers(['yes', 'maybe', 'yes', 'yes'], ['yes', 'yes', 'yes', 'yes']) }), /item 1 of "answers" is "maybe"; expected yes or no/],
    ['questions without their list', script({ questions: json({ items: [] }) }), /no list "questions"/],
    ['a claims reply that is not JSON', script({ align: 'The summary is fine.' }), /did not reply with a JSON object/],
    ['a claim verdict outside yes/no/idk', script({ align: json({ claims: [{ verdict: 'partly' }] }) }), /verdict "partly"/],
  ])('records %s as an error', async (_what, s, error) => {
    expect((await scriptedJudge('summarization', null, input, s)).out).toMatchObject({ error: expect.stringMatching(error) });
  });
});
