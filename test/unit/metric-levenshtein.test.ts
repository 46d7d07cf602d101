import { fuzzyRatio, indelDistance, levenshteinRatio } from '../../core/metrics/builtin/levenshtein.js';

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
