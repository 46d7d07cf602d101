import {
  checkJsonSchema,
  extractQcmLetter,
  fuzzyRatio,
  indelDistance,
  jsonSchemaCacheSize,
  jsonSchemaScore,
  levenshteinRatio,
  ocrV1,
  qcmExactness,
  resetJsonSchemaCache,
} from '../../core/metrics/text-metrics.js';

/** Reference: Indel distance by the textbook LCS table, over code points. */
function naiveIndel(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  const t = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = 1; i <= x.length; i++) for (let j = 1; j <= y.length; j++) t[i][j] = x[i - 1] === y[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
  return x.length + y.length - 2 * t[x.length][y.length];
}

/** Deterministic pseudo-random strings (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomString = (next: () => number, len: number, alphabet: string): string => {
  const chars = [...alphabet];
  return Array.from({ length: len }, () => chars[Math.floor(next() * chars.length)]).join('');
};

// ------------------------------------------------------------------ fuzzyRatio

describe('fuzzyRatio', () => {
  // https://github.com/rapidfuzz/RapidFuzz README.md ("Usage › Scorers › Simple Ratio")
  it('matches the published rapidfuzz README example to the last bit', () => {
    expect(fuzzyRatio('this is a test', 'this is a test!')).toBe(96.55172413793103);
  });

  // rapidfuzz tests/test_fuzz.py: test_no_processor, test_empty_string
  it('is 100 for identical strings and case-sensitive, as rapidfuzz tests assert', () => {
    expect(fuzzyRatio('new york mets', 'new york mets')).toBe(100);
    expect(fuzzyRatio('new york mets', 'new YORK mets')).not.toBe(100);
  });

  it('is 100 for two empty strings and 0 when only one is empty', () => {
    expect(fuzzyRatio('', '')).toBe(100);
    expect(fuzzyRatio('abc', '')).toBe(0);
    expect(fuzzyRatio('', 'abc')).toBe(0);
  });

  it('is 0 for strings with no character in common', () => {
    expect(fuzzyRatio('aaaa', 'bbbb')).toBe(0);
  });

  it('is symmetric and not rounded', () => {
    expect(fuzzyRatio('lewenstein', 'levenshtein')).toBe(fuzzyRatio('levenshtein', 'lewenstein'));
    expect(fuzzyRatio('lewenstein', 'levenshtein')).toBeCloseTo((18 / 21) * 100, 12);
  });

  it('counts code points, not UTF-16 units, like Python str', () => {
    // one astral character each side: lensum 2, distance 2 → 0, not a partial match on a shared surrogate
    expect(fuzzyRatio('😀', '😁')).toBe(0);
    expect(fuzzyRatio('😀a', '😀b')).toBe(50);
    expect(fuzzyRatio('café', 'cafe')).toBe(75);
  });

  // rapidfuzz tests/distance/test_Indel.py: test_basic, test_issue_196
  it('rests on the Indel distances rapidfuzz tests publish', () => {
    expect(indelDistance('', '')).toBe(0);
    expect(indelDistance('test', 'test')).toBe(0);
    expect(indelDistance('aaaa', 'bbbb')).toBe(8);
    expect(indelDistance('South Korea', 'North Korea')).toBe(4);
  });

  it('agrees with a textbook LCS table on random strings of every length up to several machine words', () => {
    const next = rng(42);
    for (let k = 0; k < 300; k++) {
      const a = randomString(next, Math.floor(next() * 140), k % 3 === 0 ? 'ab' : 'abcdé😀 ');
      const b = randomString(next, Math.floor(next() * 140), k % 3 === 0 ? 'ab' : 'abcdé😀 ');
      expect(indelDistance(a, b)).toBe(naiveIndel(a, b));
    }
  });

  it('handles long texts quickly', () => {
    const next = rng(7);
    const a = randomString(next, 20_000, 'abcdefghij \n');
    const b = a.slice(0, 9_000) + 'xyz' + a.slice(9_500);
    const started = Date.now();
    const r = fuzzyRatio(a, b);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r).toBeGreaterThan(95);
    expect(r).toBeLessThan(100);
  });
});

// ------------------------------------------------------------ levenshteinRatio

describe('levenshteinRatio', () => {
  // python-Levenshtein 0.12 docstring of ratio (src/_levenshtein.c, ratio_DESC):
  // ">>> ratio('Hello world!', 'Holly grail!')  0.583333..." and ratio('Brian', 'Jesus') == 0.0
  it('matches the published python-Levenshtein examples', () => {
    expect(levenshteinRatio('Hello world!', 'Holly grail!')).toBeCloseTo(0.583333, 6);
    expect(levenshteinRatio('Hello world!', 'Holly grail!')).toBeCloseTo(14 / 24, 15);
    expect(levenshteinRatio('Brian', 'Jesus')).toBe(0);
  });

  // rapidfuzz/Levenshtein src/Levenshtein/__init__.py, ratio docstring:
  // ratio(["lewenstein"], ["levenshtein"], processor=lambda s: s[0]) -> 0.8571428571428572
  it('matches the current python-Levenshtein docstring value', () => {
    expect(levenshteinRatio('lewenstein', 'levenshtein')).toBe(0.8571428571428572);
  });

  it('is the Indel-based ratio, not 1 - levenshtein / max length', () => {
    // one substitution: Levenshtein distance 1 → 1 - 1/1 = 0, Indel 2 → 1 - 2/2 = 0
    expect(levenshteinRatio('a', 'c')).toBe(0);
    // "abc" vs "abd": 1 - lev/max would give 2/3; Indel gives (6 - 2) / 6 = 2/3 too; "ab" vs "abcd": 1 - 2/4 = 0.5 vs (6 - 2)/6
    expect(levenshteinRatio('ab', 'abcd')).toBeCloseTo(4 / 6, 15);
    expect(levenshteinRatio('kitten', 'sitting')).toBeCloseTo(1 - 5 / 13, 15);
  });

  it('is 1 for two empty strings and 0 when only one is empty', () => {
    expect(levenshteinRatio('', '')).toBe(1);
    expect(levenshteinRatio('', 'x')).toBe(0);
  });

  it('equals fuzzyRatio divided by 100', () => {
    expect(levenshteinRatio('this is a test', 'this is a test!') * 100).toBeCloseTo(fuzzyRatio('this is a test', 'this is a test!'), 12);
  });
});

// ------------------------------------------------------------------------ OCR

describe('ocrV1', () => {
  it('scores the text of the last fenced block against the expected text', () => {
    const output = 'Draft:\n```markdown\nold text\n```\nFinal:\n```markdown\n# Title\n\nHello world\n```\nDone.';
    const r = ocrV1(output, '# Title\n\nHello world');
    expect(r.observation.extracted).toBe('# Title\n\nHello world');
    expect(r.score).toBe(1);
  });

  it('uses the whole output, stripped, when there is no fenced block', () => {
    const r = ocrV1('  Hello world \n', 'Hello world');
    expect(r.observation.extracted).toBe('Hello world');
    expect(r.score).toBe(1);
  });

  it('does not crash on an unterminated fence and then scores the whole output', () => {
    const r = ocrV1('```\nHello', 'Hello');
    expect(r.observation.extracted).toBe('```\nHello');
    expect(r.score).toBeCloseTo(fuzzyRatio('```\nHello', 'Hello') / 100, 15);
  });

  it('ignores a fence whose language tag is not followed by a newline, as Evalap does', () => {
    expect(ocrV1('```json {"a": 1}```', 'x').observation.extracted).toBe('```json {"a": 1}```');
  });

  it('joins the "text" fields of a JSON list of blocks with blank lines', () => {
    const blocks = JSON.stringify([{ type: 'title', text: '# Title' }, { type: 'figure', text: null }, { type: 'para', text: 'Body' }]);
    const r = ocrV1('```json\n' + blocks + '\n```', '# Title\n\n\n\nBody');
    expect(r.observation.extracted).toBe('# Title\n\n\n\nBody');
    expect(r.score).toBe(1);
  });

  it('keeps the JSON text as is when it is not a list of blocks with string texts', () => {
    expect(ocrV1('{"text": "Body"}', 'Body').observation.extracted).toBe('{"text": "Body"}');
    expect(ocrV1('["a", "b"]', 'a').observation.extracted).toBe('["a", "b"]');
    expect(ocrV1('[{"text": 5}]', '5').observation.extracted).toBe('[{"text": 5}]');
    expect(ocrV1('[]', '').observation.extracted).toBe('');
  });

  it('divides the rapidfuzz ratio by 100 so the score lies in 0..1', () => {
    const r = ocrV1('```\nthis is a test\n```', 'this is a test!');
    expect(r.score).toBeCloseTo(0.9655172413793103, 15);
  });

  it('scores 0 against a non-empty expected text for an empty output, and 1 when both are empty', () => {
    expect(ocrV1('', 'text').score).toBe(0);
    expect(ocrV1('   ', '').score).toBe(1);
  });

  it('keeps unicode text intact', () => {
    const r = ocrV1('```\nÉté à Paris — 😀\n```', 'Été à Paris — 😀');
    expect(r.score).toBe(1);
  });
});

// ---------------------------------------------------------------- JSON Schema

describe('jsonSchemaScore', () => {
  const person = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } }, required: ['name'], additionalProperties: false };

  beforeEach(() => resetJsonSchemaCache());

  it('scores 1 for JSON that the schema accepts', () => {
    expect(jsonSchemaScore('{"name": "Ada", "age": 36}', person)).toEqual({ score: 1, observation: { valid: true } });
  });

  it('tolerates one ```json fenced block around the JSON', () => {
    expect(jsonSchemaScore('```json\n{"name": "Ada"}\n```', person).score).toBe(1);
    expect(jsonSchemaScore('\n```\n{"name": "Ada"}\n```\n', person).score).toBe(1);
  });

  it('refuses prose around a fenced block', () => {
    const r = jsonSchemaScore('Here you go:\n```json\n{"name": "Ada"}\n```', person);
    expect(r.score).toBe(0);
    expect(r.observation.errors?.[0]).toMatch(/not JSON/);
  });

  it('scores 0 with every schema error for JSON the schema rejects', () => {
    const r = jsonSchemaScore('{"age": -1, "extra": true}', person);
    expect(r.score).toBe(0);
    expect(r.observation.valid).toBe(false);
    expect(r.observation.errors).toEqual(expect.arrayContaining([expect.stringMatching(/required property 'name'/), expect.stringMatching(/^\/age must be >= 0/), expect.stringMatching(/additional properties/)]));
  });

  it('scores 0 and explains when the output is not JSON', () => {
    for (const bad of ['', 'not json', '{"name": "Ada",}', '```json\n{oops}\n```']) {
      const r = jsonSchemaScore(bad, person);
      expect(r.score).toBe(0);
      expect(r.observation.errors?.[0]).toMatch(/not JSON/);
    }
  });

  it('validates scalars and unicode strings', () => {
    expect(jsonSchemaScore('"héllo 😀"', { type: 'string', maxLength: 7 }).score).toBe(1);
    expect(jsonSchemaScore('42', { type: 'string' }).score).toBe(0);
  });

  it('follows the dialect named by $schema (2020-12 prefixItems)', () => {
    const tuple = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'number' }, { type: 'string' }], items: false };
    expect(jsonSchemaScore('[1, "a"]', tuple).score).toBe(1);
    expect(jsonSchemaScore('[1, "a", 2]', tuple).score).toBe(0);
  });

  it('accepts two different schemas that share an $id', () => {
    expect(jsonSchemaScore('1', { $id: 'https://example.com/s', type: 'number' }).score).toBe(1);
    expect(jsonSchemaScore('"x"', { $id: 'https://example.com/s', type: 'string' }).score).toBe(1);
  });

  it('treats unknown keywords and formats as annotations', () => {
    expect(jsonSchemaScore('"not an email"', { type: 'string', format: 'email', example: 'a@b.c' }).score).toBe(1);
  });

  it('compiles each schema once and keeps a bounded cache', () => {
    jsonSchemaScore('1', { type: 'number' });
    jsonSchemaScore('2', { type: 'number' });
    expect(jsonSchemaCacheSize()).toBe(1);
    for (let i = 0; i < 200; i++) jsonSchemaScore('1', { type: 'number', maximum: i });
    expect(jsonSchemaCacheSize()).toBeLessThanOrEqual(64);
  });

  it('never throws for an invalid schema but scores 0 with the schema error', () => {
    const r = jsonSchemaScore('"x"', { type: 'strnig' });
    expect(r.score).toBe(0);
    expect(r.observation.errors?.[0]).toMatch(/invalid JSON Schema/);
  });
});

describe('checkJsonSchema', () => {
  it('accepts valid schemas', () => {
    expect(checkJsonSchema({ type: 'object', properties: { a: { type: 'string' } } })).toBeUndefined();
    expect(checkJsonSchema({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'string' })).toBeUndefined();
    expect(checkJsonSchema({ $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'string' })).toBeUndefined();
    expect(checkJsonSchema({})).toBeUndefined();
  });

  it('explains what is wrong with an invalid schema', () => {
    expect(checkJsonSchema({ type: 'strnig' })).toMatch(/^invalid JSON Schema: .*type/);
    expect(checkJsonSchema({ type: 'object', required: 'name' })).toMatch(/invalid JSON Schema/);
    expect(checkJsonSchema({ $ref: 'https://example.com/missing.json' })).toMatch(/invalid JSON Schema: .*resolve/);
    expect(checkJsonSchema({ $schema: 'http://json-schema.org/draft-04/schema#' })).toMatch(/unsupported \$schema/);
    expect(checkJsonSchema([] as unknown as object)).toMatch(/must be an object/);
    expect(checkJsonSchema(null as unknown as object)).toMatch(/must be an object/);
  });
});

// ------------------------------------------------------------------------ QCM

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
