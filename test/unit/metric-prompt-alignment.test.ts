/**
 * prompt_alignment as DeepEval v3.5.9 scores it: one verdict per instruction
 * of params.prompt_instructions (required, non-empty), the instructions not
 * failed over all verdicts.
 */
import { ValidationError } from '../../core/errors.js';
import { checkMetrics } from '../../core/metrics/requirements.js';
import { json, scriptedJudge } from '../support/scripted-judge.js';

const input = { query: 'What is the number of stars in the sky?', output: 'HEY THERE! Nobody knows.' };
const prompt_instructions = ['Answer politely.', 'Do not correct the user.', 'Reply in upper case only.'];
const run = (reply: string, params: Record<string, unknown> = { prompt_instructions }) => scriptedJudge('prompt_alignment', params, input, [[/./, reply]]);

describe('prompt_alignment', () => {
  it('shows the judge every instruction, numbered, with the question and the answer, in one call', async () => {
    const { prompts } = await run(json({ verdicts: [{ verdict: 'yes' }, { verdict: 'yes' }, { verdict: 'yes' }] }));
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain('[1] Answer politely.\n[2] Do not correct the user.\n[3] Reply in upper case only.');
    expect(prompts[0]).toContain(input.query);
    expect(prompts[0]).toContain(input.output);
  });

  it('scores the instructions followed over all of them, explaining with the reasons of those not followed', async () => {
    const { out } = await run(json({ verdicts: [{ verdict: 'yes' }, { verdict: 'yes' }, { verdict: 'no', reason: 'Only the greeting is in upper case.' }] }));
    expect((out as { score: number }).score).toBeCloseTo(2 / 3, 12);
    expect(out).toMatchObject({ observation: { success: true, reason: 'The score is 0.67 because: Only the greeting is in upper case.', prompt_version: 'prompt-alignment-1' } });
    expect((out as { observation: object }).observation).not.toHaveProperty('count_mismatch');
  });

  it('scores 0 under strict_mode unless every instruction is followed', async () => {
    expect((await run(json({ verdicts: [{ verdict: 'yes' }, { verdict: 'yes' }, { verdict: 'no' }] }), { prompt_instructions, strict_mode: true })).out).toMatchObject({ score: 0, observation: { success: false } });
  });

  it('scores a reply with fewer verdicts than instructions on what came back, and records the mismatch', async () => {
    const { out } = await run(json({ verdicts: [{ verdict: 'yes' }, { verdict: 'no' }] }));
    expect(out).toMatchObject({ score: 0.5, observation: { count_mismatch: [{ of: 'instructions', expected: 3, received: 2 }] } });
  });

  it('scores an empty verdict list 1, as DeepEval does, and records the mismatch', async () => {
    expect((await run(json({ verdicts: [] }))).out).toMatchObject({ score: 1, observation: { count_mismatch: [{ expected: 3, received: 0 }] } });
  });

  it.each([
    ['malformed JSON', 'verdicts: yes, yes, no', /did not reply with a JSON object/],
    ['no verdicts list', json({ results: [] }), /no list "verdicts"/],
    ['a verdict missing', json({ verdicts: [{ reason: 'x' }] }), /item 0 of "verdicts" has verdict ""; expected yes or no/],
    ['an idk verdict', json({ verdicts: [{ verdict: 'idk' }] }), /verdict "idk"; expected yes or no/],
  ])('records %s as an error', async (_what, reply, error) => {
    expect((await run(reply)).out).toMatchObject({ error: expect.stringMatching(error), observation: { reply } });
  });

  it.each([
    ['no params', null, 'metrics.0.params.prompt_instructions'],
    ['an empty list', { prompt_instructions: [] }, 'metrics.0.params.prompt_instructions'],
    ['an empty instruction', { prompt_instructions: ['Be brief.', ''] }, 'metrics.0.params.prompt_instructions.1'],
  ])('refuses a launch with %s as prompt_instructions, naming where', (_what, params, path) => {
    let error: unknown;
    try {
      checkMetrics([{ name: 'prompt_alignment', params }], { columns: new Set(['query']), path: 'metrics' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([{ path, message: expect.stringMatching(/^metric prompt_alignment: /) }]);
  });
});
