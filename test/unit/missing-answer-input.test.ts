import { missingAnswerInput } from '../../core/metrics/requirements.js';

const answer = (fields: Record<string, unknown> = {}) => ({ answer: 'an answer', context: null, retrieval_context: null, think: null, ...fields });

describe('missingAnswerInput', () => {
  it('names the answer field a row lacks in neither its answer nor its dataset row', () => {
    expect(missingAnswerInput('faithfulness', null, { query: 'q' }, answer())).toMatch(/^metric faithfulness needs "retrieval_context", which neither/);
  });

  it('takes the field from the answer, or else from the dataset row', () => {
    expect(missingAnswerInput('faithfulness', null, { query: 'q' }, answer({ retrieval_context: ['doc'] }))).toBeNull();
    expect(missingAnswerInput('faithfulness', null, { query: 'q', retrieval_context: ['doc'] }, answer())).toBeNull();
  });

  it('counts an empty list or a blank string as lacking', () => {
    expect(missingAnswerInput('contextual_relevancy', null, { retrieval_context: [] }, answer())).not.toBeNull();
    expect(missingAnswerInput('hallucination', null, { context: '  ' }, answer())).toMatch(/needs "context"/);
  });

  it('leaves an empty output to be judged: only a row with no answer at all lacks it', () => {
    expect(missingAnswerInput('answer_relevancy', null, { query: 'q' }, answer({ answer: '' }))).toBeNull();
    expect(missingAnswerInput('answer_relevancy', null, { query: 'q' }, undefined)).toMatch(/needs "output"/);
  });

  it('ignores dataset fields, which the launch already checked', () => {
    expect(missingAnswerInput('contextual_precision', null, { retrieval_context: ['doc'] }, answer())).toBeNull();
  });

  it('returns null for an unknown metric, which cannot reach a row', () => {
    expect(missingAnswerInput('telepathy', null, {}, answer())).toBeNull();
  });
});
