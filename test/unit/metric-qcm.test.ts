import { extractQcmLetter, qcmExactness } from '../../core/metrics/builtin/qcm.js';

describe('extractQcmLetter', () => {
  const table: [string, string | null][] = [
    // bare letters and decorations
    ['B', 'B'],
    ['b', 'B'],
    [' B \n', 'B'],
    ['B)', 'B'],
    ['(B)', 'B'],
    ['B.', 'B'],
    ['[C]', 'C'],
    ['**B**', 'B'],
    ['"B"', 'B'],
    ["'D'", 'D'],
    ['Ｂ', 'B'],
    ['B - Paris', 'B'],
    ['B) Paris', 'B'],
    ['b) Paris', 'B'],
    ['C: Berlin', 'C'],
    ['A', 'A'],
    ['a)', 'A'],
    ['J', 'J'],
    // explicit statements, English
    ['Answer: B', 'B'],
    ['**Answer:** C', 'C'],
    ['The correct answer is (c).', 'C'],
    ['The answer is B because Paris is the capital of France.', 'B'],
    ['The answer is A because it is the only prime.', 'A'],
    ['Final answer: option D', 'D'],
    ['The correct option is E) 42', 'E'],
    ['After careful thought, I would go with C.', 'C'],
    ['I think it\'s B.', 'B'],
    ['Option A is wrong, option C is correct.', 'C'],
    ['B is correct: Paris has been the capital since 987.', 'B'],
    ['(D) Mercury is the right answer.', 'D'],
    ['Therefore the answer is $\\boxed{C}$.', 'C'],
    ['The answer to this question is D', 'D'],
    // the last explicit statement wins
    ['A looks tempting, but the answer is B.', 'B'],
    ['Options: A) London B) Paris C) Berlin. The answer is B', 'B'],
    ['At first I thought the answer was A. On reflection, the answer is D.', 'D'],
    // explicit statements, French
    ['La réponse est B', 'B'],
    ['Réponse : B', 'B'],
    ['Réponse : (b)', 'B'],
    ['La bonne réponse est la C.', 'C'],
    ['La bonne réponse est donc la réponse D', 'D'],
    ['La réponse correcte est : « A »', 'A'],
    ["Je choisis la réponse C car c'est la plus précise.", 'C'],
    ["J'opte pour B.", 'B'],
    ["C'est la B.", 'B'],
    ['Paris est la capitale de la France, donc B.', 'B'],
    ['La proposition A est fausse ; la proposition C est correcte.', 'C'],
    // articles, pronouns, words
    ['A capital city is the seat of government; here that is (B).', 'B'],
    ['A capital city, Paris, is option B.', 'B'],
    ['I think the answer is c', 'C'],
    ['I believe that Paris is right.', null],
    ['Bonjour', null],
    ['The answer is a city in France.', null],
    ["J'ai besoin de plus d'informations.", null],
    ['Paris, e.g. the capital, i.e. the seat of government.', null],
    ['', null],
    ['   ', null],
    ['I cannot answer this question.', null],
    ['A) London\nB) Paris\nC) Berlin', null],
    ['Between (A) and (C) I cannot decide.', null],
    // letter first, explanation after
    ['B\n\nExplanation: A capital city is where the government sits.', 'B'],
    ['C) Berlin\n\nBerlin is the capital of Germany.', 'C'],
    ['Paris (B)', 'B'],
    ['<think>Maybe A? No, the answer is C.</think>\nB', 'B'],
    ['C programming is hard.', null],
    // more phrasings
    ["The answer is not A, it's B.", 'B'],
    ['Answer: A) Paris', 'A'],
    ['The answer is a) Paris', 'A'],
    ['A is correct.', 'A'],
    ['A. Paris', 'A'],
    ['d) 1789', 'D'],
    ['- **B**', 'B'],
    ['The answer is I.', 'I'],
    ['I choose option J', 'J'],
    ['Answer: B or C', 'B'],
    ['The correct answer is: **B. Paris**', 'B'],
    ['Correct answer → C', 'C'],
    ['The answer is B.\n\nA is wrong because London is in England.', 'B'],
    ['Réponse finale : D', 'D'],
    ['B est la bonne réponse.', 'B'],
    ["L'option correcte est la (d)", 'D'],
    ["Il s'agit de la réponse A.", 'A'],
    ['Je dirais A.', 'A'],
    ['Réponse B', 'B'],
    ['Answer - B', 'B'],
    ['Options: A) London B) Paris C) Berlin', null],
    ['The correct answers are A and C', null],
    ['A B C D', null],
    ['<think>The options are A) and B)… I pick', null],
    ['The answer is B, not A.', 'B'],
    ['Hmm, A or B? I\'ll go with A', 'A'],
    ['This is a trick question. A is tempting.', null],
    ['Réponse : A) Paris\n\nExplication : A Paris se trouve le gouvernement.', 'A'],
  ];

  it.each(table)('reads %j as %j', (output, letter) => {
    expect(extractQcmLetter(output)).toBe(letter);
  });
});

describe('qcmExactness', () => {
  it('scores 1 when the chosen letter is the expected one, whatever the case', () => {
    expect(qcmExactness('The correct answer is (c)', 'C')).toEqual({ score: 1, observation: { extracted: 'C', expected: 'C' } });
    expect(qcmExactness('b', 'B').score).toBe(1);
  });

  it('reads the expected value as a letter, a bracketed letter or a labelled option', () => {
    for (const expected of ['B', 'b', '(B)', 'B)', 'B) Paris', ' B. Paris ']) expect(qcmExactness('Answer: B', expected).score).toBe(1);
  });

  it('scores 0 with a null extraction when no letter is found', () => {
    expect(qcmExactness('I do not know.', 'A')).toEqual({ score: 0, observation: { extracted: null, expected: 'A' } });
  });

  it('scores 0 for a wrong letter', () => {
    expect(qcmExactness('La réponse est C', 'B')).toEqual({ score: 0, observation: { extracted: 'C', expected: 'B' } });
  });

  it('scores 0 and reports the expected value as given when it holds no option letter', () => {
    expect(qcmExactness('B', 'Paris')).toEqual({ score: 0, observation: { extracted: 'B', expected: 'Paris' } });
  });

  it('gets right every output Evalap\'s qcm_exactness gets right, and the ones it misses', () => {
    // Evalap scores 1 when the stripped output is one token whose raw first character equals output_true
    for (const output of ['B', 'B.', 'B)', '"B"', 'B,']) expect(qcmExactness(output, 'B').score).toBe(1);
    // Evalap: 0 or None for these
    for (const output of [' B', "'B'", '(B)', 'b', 'The answer is B', 'Réponse : B']) expect(qcmExactness(output, 'B').score).toBe(1);
    // Evalap: 1 for these (first character), rightly 0 here
    for (const output of ['Bonjour', 'Berlin']) expect(qcmExactness(output, 'B').score).toBe(0);
  });

  it('stays fast on long and pathological outputs', () => {
    const inputs = ['answer:' + ' '.repeat(50_000) + '!', 'answer is '.repeat(10_000), '<think>'.repeat(20_000), 'B) ' + 'word '.repeat(20_000) + 'is correct', '(A) '.repeat(20_000)];
    const started = Date.now();
    for (const output of inputs) qcmExactness(output, 'A');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('never throws on odd input', () => {
    expect(() => qcmExactness(undefined as unknown as string, undefined as unknown as string)).not.toThrow();
    expect(qcmExactness('x'.repeat(100_000), 'A').score).toBe(0);
  });
});
