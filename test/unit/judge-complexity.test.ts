/**
 * judge_complexity: the prompt shows the query alone and asks for Evalap's
 * line format; the reply is read as Evalap's judge_complexity.py reads it
 * (expected values worked out from that code: the `[Note : X/N]` of each
 * labelled line, int() of the global note, 0 for a missing note, the theme
 * after "Thématique :").
 */
import { getMetric } from '../../core/metrics/registry.js';
import { readComplexity } from '../../core/metrics/builtin/evalap-judges.js';
import { judgeOf } from '../../core/metrics/judges.js';

const reply = [
  '<think>the CAF only</think>',
  'Critère Demande : one subject, clearly put. [Note : 2/5]',
  'Critère Administration : the CAF alone. [Note : 1/5]',
  'Critère Procedure : one form to fill in. [Note : 1.5/5]',
  'Score de complexité global : a simple request. [Note : 3.7/10]',
  'Recommandation : point to the online form.',
  'Thématique : CAF',
].join('\n');

describe('judge_complexity', () => {
  it('shows the judge the query alone, and asks for the labelled lines it reads', () => {
    const prompt = judgeOf('judge_complexity')!.prompt({ query: 'How do I declare a move to the CAF?', output: 'SECRET-OUTPUT', output_true: 'SECRET-REF' } as never, {});
    expect(prompt).toContain('How do I declare a move to the CAF?');
    expect(prompt).not.toMatch(/SECRET-(OUTPUT|REF)/);
    for (const label of ['Critère Demande : ', 'Critère Administration : ', 'Critère Procedure : ', 'Score de complexité global : ', 'Thématique : ']) expect(prompt).toContain(label);
  });

  it('scores the global note truncated to an integer, and keeps each criterion and the theme', () => {
    expect(readComplexity(reply)).toMatchObject({ score: 3, observation: { scores: { demande: 2, administration: 1, procedure: 1.5, global: 3.7 }, thematique: 'CAF' } });
  });

  it('scores 0 when the global note is missing, and files an unnamed theme as "non catégorisé"', () => {
    expect(readComplexity('Critère Demande : unclear [Note : 4/5]\nScore de complexité global : cannot tell')).toMatchObject({
      score: 0,
      observation: { scores: { demande: 4, administration: 0, procedure: 0, global: 0 }, thematique: 'non catégorisé' },
    });
  });

  it('is in the catalog as a judge of the query alone, on 0 to 10', () => {
    expect(getMetric('judge_complexity')).toMatchObject({ type: 'llm', require: ['query'], range: [0, 10] });
  });
});
