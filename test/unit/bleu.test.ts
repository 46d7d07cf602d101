import { bleuStats, computeBleu, corpusBleu, sentenceBleu, tokenize13a, type BleuStats } from '../../core/metrics/reference/bleu.js';

// Expected values come from SacreBLEU (github.com/mjpost/sacrebleu, commit
// f615c7286d4d813370efb824d94fc2bfcd3a6b94). "Published" groups are the
// project's own test files / README; "reference run" groups were obtained by
// running that same commit's Python code on the inputs shown, because the
// project publishes no unit test for them (13a tokenizer, multi-reference
// sentence BLEU, edge cases).

const close = (actual: number, expected: number, tol = 1e-6) => expect(Math.abs(actual - expected)).toBeLessThan(tol);

const corpusFrom = (hyps: string[], refStreams: string[][], tok: '13a' | 'none' = '13a'): BleuStats[] =>
  hyps.map((h, i) => bleuStats(h, refStreams.map((stream) => stream[i]), tok));

// README.md ("Using SacreBLEU from Python") and test/test_bleu.py (_refs/_hyps).
const REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const HYPS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

describe('tokenize13a', () => {
  // Reference run of sacrebleu/tokenizers/tokenizer_13a.py at the commit above.
  it.each([
    ['Hello, world!', 'Hello , world !'],
    // Period and comma stay inside numbers; '$' and '%' are split off.
    ['It costs $1,000.50, or 3.5% less.', 'It costs $ 1,000.50 , or 3.5 % less .'],
    // A dash is split only after a digit; hyphenated words stay whole.
    ['The 1990-2000 period; well-known e-mail.', 'The 1990 - 2000 period ; well-known e-mail .'],
    ['a.b,c 1.a a.1 1,a ,5 .5 5. 5,', 'a . b , c 1 . a a . 1 1 , a , 5 . 5 5 . 5 ,'],
    ['10-20 - 5 -6 a-b 7 -', '10 - 20 - 5 -6 a-b 7 -'],
    // Only &quot; &amp; &lt; &gt; are unescaped, in that order.
    ['He said &quot;no&quot; &amp; left &lt;quietly&gt;.', 'He said " no " & left < quietly > .'],
    ['&amp;quot; stays &apos;as is&apos;', '& quot ; stays & apos ; as is & apos ;'],
    // The apostrophe is the one ASCII symbol 13a never splits.
    ["don't (really) [maybe] {x} a/b c\\d @home #tag ~x ^y _z `q` |p|", "don't ( really ) [ maybe ] { x } a / b c \\ d @ home # tag ~ x ^ y _ z ` q ` | p |"],
    ['line-\nbreak and\nnewline <skipped> gone', 'linebreak and newline gone'],
    ['trailing hyphen-\n', 'trailing hyphen'],
    // Unicode punctuation is left alone (that is the 'intl' tokenizer's job).
    ['« Bonjour » — dit-il… „Hallo“ ‘yes’ 你好，世界。', '« Bonjour » — dit-il… „Hallo“ ‘yes’ 你好，世界。'],
    ['Emoji 😀. done', 'Emoji 😀 . done'],
    ['  multiple   spaces\tand\ttabs  ', 'multiple spaces and tabs'],
    ['', ''],
    // Python's whitespace set: NBSP, thin space, U+001C and U+0085 split; U+FEFF does not.
    ['x\u00a0y\u2009z\ufeffw\u001cv\u0085u', 'x y z\ufeffw v u'],
  ])('%j', (input, expected) => {
    expect(tokenize13a(input)).toBe(expected);
  });
});

describe('corpusBleu', () => {
  // Published: test/test_bleu.py test_corpus_bleu_cases (EPSILON 1e-8 there).
  it('default settings (13a, exp smoothing, no effective order)', () => {
    close(corpusBleu(corpusFrom(HYPS, REFS)).score, 48.530827);
  });
  it('empty hypotheses are kept and score 0', () => {
    close(corpusBleu(corpusFrom(['', '', ''], REFS)).score, 0.0);
  });
  it("tokenize='none'", () => {
    close(corpusBleu(corpusFrom(HYPS, REFS, 'none')).score, 49.1919566);
  });
  it("smooth_method='none'", () => {
    close(corpusBleu(corpusFrom(HYPS, REFS), { smoothMethod: 'none', effectiveOrder: false }).score, 48.530827);
  });

  // Published: README.md, "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)".
  // Full-precision values from a reference run.
  it('README example: precisions, BP and lengths', () => {
    const stats = corpusFrom(HYPS, REFS);
    const r = corpusBleu(stats);
    expect(stats.reduce((a, s) => a + s.sysLen, 0)).toBe(17);
    expect(stats.reduce((a, s) => a + s.refLen, 0)).toBe(18);
    expect(r.precisions.map((p) => p.toFixed(1))).toEqual(['82.4', '50.0', '45.5', '37.5']);
    expect(r.bp.toFixed(3)).toBe('0.943');
    close(r.score, 48.530827009929865);
    close(r.bp, 0.9428731438548749);
    [82.3529411764706, 50.0, 45.45454545454545, 37.5].forEach((p, i) => close(r.precisions[i], p));
  });

  // Published: README.md "Variable Number of References" ('' as a missing
  // reference): "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ... ref_len = 19)".
  it('README example with a variable number of references', () => {
    const refs = [['', REFS[0][1], REFS[0][2]], REFS[1]];
    const stats = corpusFrom(HYPS, refs);
    const r = corpusBleu(stats);
    expect(stats.reduce((a, s) => a + s.refLen, 0)).toBe(19);
    expect(r.score.toFixed(2)).toBe('29.44');
    expect(r.precisions.map((p) => p.toFixed(1))).toEqual(['82.4', '42.9', '27.3', '12.5']);
    close(r.score, 29.443657650964873); // reference run
    close(r.bp, 0.8890097654027757); // reference run
  });
});

describe('raw_corpus_bleu (floor smoothing, effective order, no tokenization)', () => {
  // Published: test/test_bleu.py test_raw_bleu_cases / test_case_effective_order,
  // computed there as raw_corpus_bleu(..., 0.01).score / 100.
  // `floor` is required so that passing undefined means "SacreBLEU's default
  // (0.1)", not a JS default parameter.
  const raw = (hyps: string[], refStreams: string[][], floor: number | undefined) =>
    corpusBleu(corpusFrom(hyps, refStreams, 'none'), { smoothMethod: 'floor', smoothValue: floor, effectiveOrder: true });

  it.each([
    [['this is a test', 'another test'], [['ref1', 'ref2']], 0.0],
    [['this is a test'], [['this is a test']], 1.0],
    [['this is a fest'], [['this is a test']], 0.223606797749979],
    [['test'], [['a test']], 0.3678794411714425],
    [['a test'], [['a test']], 1.0],
    [['a little test'], [['a test']], 0.03218297948685433],
  ])('%j vs %j', (hyps, refs, expected) => {
    close(raw(hyps, refs, 0.01).score / 100, expected);
  });

  // Published: test/test_bleu.py test_case_statistics.
  it('n-gram statistics', () => {
    const s = bleuStats('am I am a character sequence', ['I am a symbol string sequence a a'], 'none');
    expect(s.correct).toEqual([4, 2, 1, 0]);
    expect(s.total).toEqual([6, 5, 4, 3]);
  });

  // Published: test/test_bleu.py test_case_offset (floor 0 → 0; default floor 0.1).
  it('floor offset', () => {
    const refs = [['I am a symbol string sequence a a']];
    close(raw(['am I am a character sequence'], refs, 0.0).score / 100, 0);
    close(raw(['am I am a character sequence'], refs, undefined).score / 100, 0.1555722182);
  });
});

describe('computeBleu from statistics', () => {
  // Published: test/test_bleu.py test_case_scoring (compute_bleu defaults: smoothing 'none', no effective order).
  it('scores given statistics', () => {
    close(computeBleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11, { smoothMethod: 'none', effectiveOrder: false }).score / 100, 0.8375922397);
  });

  // Published: test/test_bleu.py test_case_degenerate_stats (asserted with == there).
  it.each([
    [[0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0.0],
    [[0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0.0],
    [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.0],
    [[6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0.0],
    [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1],
    [[0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01],
  ])('degenerate %j %j sys=%d ref=%d floor=%d', (correct, total, sys, ref, floor) => {
    expect(computeBleu(correct, total, sys, ref, { smoothMethod: 'floor', smoothValue: floor, effectiveOrder: false }).score / 100).toBe(0.0);
  });

  it('does not mutate its inputs under add-k', () => {
    const correct = [5, 2, 0, 0];
    const total = [14, 13, 12, 11];
    computeBleu(correct, total, 14, 10, { smoothMethod: 'add-k', effectiveOrder: true });
    expect(correct).toEqual([5, 2, 0, 0]);
    expect(total).toEqual([14, 13, 12, 11]);
  });
});

describe('sentenceBleu', () => {
  // Published: test/test_sentence_bleu.py (example from sacrebleu issue #98),
  // there with EPSILON 1e-3: exp → 8.493, none → 0.0, floor → 4.51688,
  // floor 0.5 → 10.10, add-k → 14.882, add-k 2 → 21.389, tok none → 7.347.
  // Full precision from a reference run, asserted to 1e-6.
  const REF = 'producţia de zahăr brut se exprimă în zahăr alb;';
  const SYS = 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;';

  it('default: exp smoothing with effective order', () => {
    const r = sentenceBleu(SYS, [REF]);
    close(r.score, 8.493, 1e-3);
    close(r.score, 8.493098745313148);
    expect(r.sysLen).toBe(14);
    expect(r.refLen).toBe(10);
    expect(r.bp).toBe(1.0);
    [35.714285714285715, 15.384615384615385, 4.166666666666667, 2.272727272727273].forEach((p, i) => close(r.precisions[i], p));
  });

  it.each([
    ['none', undefined, 0.0, 0.0],
    ['floor', undefined, 4.51688, 4.516881220954753],
    ['floor', 0.1, 4.51688, 4.516881220954753],
    ['floor', 0.5, 10.1, 10.100053456347073],
    ['add-k', undefined, 14.882, 14.882560178972215],
    ['add-k', 1, 14.882, 14.882560178972215],
    ['add-k', 2, 21.389, 21.389460275371086],
  ] as const)('smoothing %s %s', (method, value, published, full) => {
    const s = bleuStats(SYS, [REF]);
    const score = computeBleu(s.correct, s.total, s.sysLen, s.refLen, { smoothMethod: method, smoothValue: value, effectiveOrder: true }).score;
    close(score, published, 1e-3);
    close(score, full);
  });

  it("tokenize='none'", () => {
    const s = bleuStats(SYS, [REF], 'none');
    const score = computeBleu(s.correct, s.total, s.sysLen, s.refLen, { smoothMethod: 'exp', effectiveOrder: true }).score;
    close(score, 7.347, 1e-3);
    close(score, 7.347053125977879);
  });

  // Published: test/test_sentence_bleu.py test_cases_zero_bleu (issue #141):
  // no matching n-gram at all is 0 under every smoothing.
  it('no match at all is 0', () => {
    expect(sentenceBleu('this is a cat', ['okay thanks']).score).toBe(0.0);
  });

  // Reference run: the README hypotheses, each against its two references.
  it.each([
    [0, 100.00000000000004, [100, 100, 100, 100], 1.0, 6, 6],
    [1, 14.794015674776452, [50.0, 16.666666666666668, 12.5, 12.5], 0.7788007830714049, 4, 5],
    [2, 29.071536848410968, [85.71428571428571, 33.333333333333336, 20.0, 12.5], 1.0, 7, 7],
  ])('multiple references, segment %d', (i, score, precisions, bp, sysLen, refLen) => {
    const r = sentenceBleu(HYPS[i], [REFS[0][i], REFS[1][i]]);
    close(r.score, score);
    precisions.forEach((p, k) => close(r.precisions[k], p));
    close(r.bp, bp);
    expect([r.sysLen, r.refLen]).toEqual([sysLen, refLen]);
  });

  it('a second reference changes the score (reference run)', () => {
    close(sentenceBleu(HYPS[2], [REFS[0][2]]).score, 15.619699684601283);
  });

  // Reference run: edge cases as SacreBLEU defines them.
  it.each([
    ['', ['a reference'], 0.0, 0.0, 0, 2],
    ['', [''], 0.0, 1.0, 0, 0],
    ['hyp', [''], 0.0, 1.0, 1, 0],
    // An empty reference still competes for the closest length.
    ['a b c', ['', 'a b c d'], 71.65313105737896, 0.7165313105737893, 3, 4],
    ['the cat', ['the cat sat on the mat'], 13.533528323661276, 0.1353352832366127, 2, 6],
    // Clipping takes the per-n-gram maximum over references.
    ['the the the the', ['the cat', 'the the cat'], 31.947155212313625, 1.0, 4, 3],
    // Equally close reference lengths: the shorter wins.
    ['a b', ['a b c', 'a'], 100.00000000000004, 1.0, 2, 1],
    ['a b c d', ['a b c', 'a b c d e'], 100.00000000000004, 1.0, 4, 3],
  ])('%j vs %j', (hyp, refs, score, bp, sysLen, refLen) => {
    const r = sentenceBleu(hyp, refs);
    close(r.score, score);
    close(r.bp, bp);
    expect([r.sysLen, r.refLen]).toEqual([sysLen, refLen]);
  });

  it('rejects an empty reference list', () => {
    expect(() => sentenceBleu('a', [])).toThrow();
  });
});
