import { porterStem } from '../../core/metrics/reference/porter.js';
import { rouge, tokenizeForRouge, type RougeScore, type RougeVariant } from '../../core/metrics/reference/rouge.js';

const TOL = 1e-6;

function expectScore(actual: RougeScore, expected: RougeScore, tol = TOL): void {
  expect(Math.abs(actual.precision - expected.precision)).toBeLessThan(tol);
  expect(Math.abs(actual.recall - expected.recall)).toBeLessThan(tol);
  expect(Math.abs(actual.fmeasure - expected.fmeasure)).toBeLessThan(tol);
}

const f1 = (p: number, r: number): number => (2 * p * r) / (p + r);
const zero: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

/*
 * Cases and expected values from Google's rouge-score test suite:
 * github.com/google-research/google-research, rouge/rouge_scorer_test.py and
 * rouge/tokenize_test.py. The long texts are lines of that suite's fixtures,
 * rouge/testdata/target.txt, rouge/testdata/prediction.txt and
 * rouge/testdata/pyrouge_files/{target,prediction}_multi.0.txt, copied verbatim
 * (with the trailing newline `readlines()` keeps).
 */
const TARGET_0 =
  "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n";
const TARGET_1 =
  "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n";
const PREDICTION_0 = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n";
const PREDICTION_1 =
  "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n";
const TARGET_MULTI_0 =
  [
    TARGET_0.trimEnd(),
    TARGET_1.trimEnd(),
    "NhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT",
    "vMR HDm,xOAetion D,tion HJtodT.mHl UIv-p VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing AwkeKbO 'DxqNOHBH qKtVvm OYJl mM",
  ].join('\n') + '\n';
const PREDICTION_MULTI_0 =
  [
    PREDICTION_0.trimEnd(),
    PREDICTION_1.trimEnd(),
    'xfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J',
    "VjWH'BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO",
  ].join('\n') + '\n';

describe('rouge: rouge-score unit cases (rouge/rouge_scorer_test.py)', () => {
  it('testRouge1', () => {
    expectScore(rouge('testing one two', 'testing', 'rouge1'), { precision: 1, recall: 1 / 3, fmeasure: 1 / 2 });
  });

  it.each<RougeVariant>(['rouge1', 'rouge2', 'rougeL', 'rougeLsum'])('testRougeEmpty %s', (variant) => {
    expectScore(rouge('testing one two', '', variant), zero);
  });

  it('testRouge2', () => {
    expectScore(rouge('testing one two', 'testing one', 'rouge2'), { precision: 1, recall: 1 / 2, fmeasure: 2 / 3 });
  });

  it('testRougeLConsecutive', () => {
    expectScore(rouge('testing one two', 'testing one', 'rougeL'), { precision: 1, recall: 2 / 3, fmeasure: 4 / 5 });
  });

  it('testRougeLNonConsecutive', () => {
    expectScore(rouge('testing one two', 'testing two', 'rougeL'), { precision: 1, recall: 2 / 3, fmeasure: 4 / 5 });
  });

  it('testMultipleRougeTypes', () => {
    expectScore(rouge('testing one two', 'testing one', 'rouge1'), { precision: 1, recall: 2 / 3, fmeasure: 4 / 5 });
    expectScore(rouge('testing one two', 'testing one', 'rougeL'), { precision: 1, recall: 2 / 3, fmeasure: 4 / 5 });
  });

  it('testRougeLsum (the union-LCS example of Lin 2004, section 3.2)', () => {
    expectScore(rouge('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5', 'rougeLsum'), { precision: 0.4, recall: 0.8, fmeasure: 0.5333333333 });
    expectScore(rouge('w1 w2 w3 w4 w5', '', 'rougeLsum'), zero);
    expectScore(rouge('', 'w1', 'rougeLsum'), zero);
    // A prediction of only non-word characters tokenizes to no tokens at all.
    expectScore(rouge('w1 w2 w3 w4 w5', '/', 'rougeLsum'), zero);
  });

  it('testLcsTable, through the public API: LCS of 1 2 3 4 5 and 2 5 3 4 is 3 long', () => {
    expectScore(rouge('1 2 3 4 5', '2 5 3 4', 'rougeL'), { precision: 3 / 4, recall: 3 / 5, fmeasure: f1(3 / 4, 3 / 5) });
    expectScore(rouge('1 2 3 4 5', '8 9', 'rougeL'), zero);
  });

  it.each(['rougen', 'rouge0', 'rouge10'])('testInvalidRougeTypes %s', (variant) => {
    expect(() => rouge('testing one two', 'testing', variant as RougeVariant)).toThrow(/invalid ROUGE variant/);
  });
});

/*
 * rouge-score's "Against Rouge155" cases: values from manual runs of the Perl
 * ROUGE-1.5.5, published to 5 decimals. Each is a ratio of token counts, so we
 * assert the exact ratio it rounds from at 1e-6, and the published decimal at
 * the precision it was published with (assertAlmostEqual(places=5)).
 */
describe('rouge: rouge-score cases against ROUGE-1.5.5 (rouge/rouge_scorer_test.py)', () => {
  const PUBLISHED_TOL = 5e-6;
  const cases: Array<[name: string, target: string, prediction: string, variant: RougeVariant, stem: boolean, published: RougeScore, exact: [number, number]]> = [
    // exact = [precision, recall] as hits / prediction tokens, hits / target tokens.
    ['testRouge1AgainstRouge155 [0]', TARGET_0, PREDICTION_0, 'rouge1', false, { precision: 0.6875, recall: 0.40741, fmeasure: 0.51163 }, [11 / 16, 11 / 27]],
    ['testRouge1AgainstRouge155 [1]', TARGET_1, PREDICTION_1, 'rouge1', false, { precision: 0.65385, recall: 0.40476, fmeasure: 0.5 }, [17 / 26, 17 / 42]],
    ['testRouge1AgainstRouge155WithStemming [0]', TARGET_0, PREDICTION_0, 'rouge1', true, { precision: 0.6875, recall: 0.40741, fmeasure: 0.51163 }, [11 / 16, 11 / 27]],
    ['testRouge1AgainstRouge155WithStemming [1]', TARGET_1, PREDICTION_1, 'rouge1', true, { precision: 0.69231, recall: 0.42857, fmeasure: 0.52941 }, [18 / 26, 18 / 42]],
    ['testRouge2AgainstRouge155 [0]', TARGET_0, PREDICTION_0, 'rouge2', false, { precision: 0.53333, recall: 0.30769, fmeasure: 0.39024 }, [8 / 15, 8 / 26]],
    ['testRouge2AgainstRouge155 [1]', TARGET_1, PREDICTION_1, 'rouge2', false, { precision: 0.48, recall: 0.29268, fmeasure: 0.36364 }, [12 / 25, 12 / 41]],
    ['testRouge2AgainstRouge155WithStemming [0]', TARGET_0, PREDICTION_0, 'rouge2', true, { precision: 0.53333, recall: 0.30769, fmeasure: 0.39024 }, [8 / 15, 8 / 26]],
    ['testRouge2AgainstRouge155WithStemming [1]', TARGET_1, PREDICTION_1, 'rouge2', true, { precision: 0.48, recall: 0.29268, fmeasure: 0.36364 }, [12 / 25, 12 / 41]],
    ['testRougeLAgainstRouge155 [0]', TARGET_0, PREDICTION_0, 'rougeL', false, { precision: 0.6875, recall: 0.40741, fmeasure: 0.51163 }, [11 / 16, 11 / 27]],
    ['testRougeLAgainstRouge155 [1]', TARGET_1, PREDICTION_1, 'rougeL', false, { precision: 0.65385, recall: 0.40476, fmeasure: 0.5 }, [17 / 26, 17 / 42]],
    [
      'testRougeLSumAgainstRouge155WithStemming',
      TARGET_MULTI_0,
      PREDICTION_MULTI_0,
      'rougeLsum',
      true,
      { precision: 0.66667, recall: 0.36538, fmeasure: 0.47205 },
      [38 / 57, 38 / 104],
    ],
  ];

  it.each(cases)('%s', (_name, target, prediction, variant, stem, published, [p, r]) => {
    const got = rouge(target, prediction, variant, stem);
    expectScore(got, { precision: p, recall: r, fmeasure: f1(p, r) });
    expectScore(got, published, PUBLISHED_TOL);
  });
});

describe('tokenizeForRouge', () => {
  it('lowercases and splits on anything outside [a-z0-9] (rouge/tokenize_test.py)', () => {
    expect(tokenizeForRouge('one Two three', false)).toEqual(['one', 'two', 'three']);
    expect(tokenizeForRouge('one\n Two \nthree', false)).toEqual(['one', 'two', 'three']);
  });

  it('drops punctuation and non-ASCII letters as separators', () => {
    expect(tokenizeForRouge("It's 3.5 km — naïve!", false)).toEqual(['it', 's', '3', '5', 'km', 'na', 've']);
    expect(tokenizeForRouge(' /// ', false)).toEqual([]);
  });

  it('stems only tokens longer than 3 characters, as rouge-score does', () => {
    // nltk alone stems was -> wa, has -> ha, his -> hi (porter_nltk_output.txt); rouge-score leaves them whole.
    expect(tokenizeForRouge('Was this his running cats', true)).toEqual(['was', 'thi', 'his', 'run', 'cat']);
    expect(tokenizeForRouge('Was this his running cats', false)).toEqual(['was', 'this', 'his', 'running', 'cats']);
  });

  it('makes inflections match under stemming and not without it', () => {
    expect(rouge('the cats were running', 'the cat runs', 'rouge1', false).recall).toBeCloseTo(1 / 4, 12);
    expect(rouge('the cats were running', 'the cat runs', 'rouge1', true).recall).toBeCloseTo(3 / 4, 12);
  });
});

describe('rouge: behaviour that follows from rouge-score definitions', () => {
  it('defaults to rougeL without stemming', () => {
    expect(rouge('testing one two', 'testing two')).toEqual(rouge('testing one two', 'testing two', 'rougeL', false));
  });

  it('clips repeated n-grams to their count in the target', () => {
    // "the" occurs twice in the target but 7 times in the prediction: only 2 hits.
    expectScore(rouge('the cat the mat', 'the the the the the the the', 'rouge1'), { precision: 2 / 7, recall: 2 / 4, fmeasure: f1(2 / 7, 2 / 4) });
  });

  it('gives 0, not NaN, when there is no overlap or a side has no bigram', () => {
    expectScore(rouge('alpha beta', 'gamma delta', 'rouge1'), zero);
    expectScore(rouge('alpha', 'alpha', 'rouge2'), zero);
    expectScore(rouge('', '', 'rougeL'), zero);
  });

  it('rougeLsum does not count a reference token twice across candidate sentences', () => {
    // Both candidate lines align with the single "a"; it is a hit once.
    expectScore(rouge('a b', 'a\na', 'rougeLsum'), { precision: 1 / 2, recall: 1 / 2, fmeasure: 1 / 2 });
  });

  it('rougeLsum on one line each equals rougeL', () => {
    const t = 'the quick brown fox jumps over the lazy dog';
    const p = 'the quick brown dog jumps on the log';
    expectScore(rouge(t, p, 'rougeLsum'), rouge(t, p, 'rougeL'));
  });
});

/*
 * Stems from NLTK in its default NLTK_EXTENSIONS mode, the one rouge-score's
 * `porter.PorterStemmer()` uses.
 */
describe('porterStem (NLTK_EXTENSIONS mode)', () => {
  it('matches the doctest in nltk/test/stem.doctest (github.com/nltk/nltk)', () => {
    const plurals = [
      'caresses', 'flies', 'dies', 'mules', 'denied', 'died', 'agreed', 'owned', 'humbled', 'sized',
      'meeting', 'stating', 'siezing', 'itemization', 'sensational', 'traditional', 'reference', 'colonizer', 'plotted',
    ];
    expect(plurals.map(porterStem).join(' ')).toBe(
      'caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot',
    );
  });

  it('matches nltk/test/unit/test_stem.py (test_oed_bug, test_lowercase_option)', () => {
    expect(porterStem('oed')).toBe('o');
    expect(porterStem('On')).toBe('on');
    expect(porterStem('I')).toBe('i');
    expect(porterStem('Github')).toBe('github');
  });

  /*
   * Pairs from NLTK's Porter test vocabulary: github.com/nltk/nltk_data,
   * packages/stemmers/porter_test.zip, porter_vocabulary.txt with the stem on
   * the same line of porter_nltk_output.txt. Many are words where this mode
   * differs from Martin Porter's reference (porter_martin_output.txt, given in
   * the comments), so a stemmer in the wrong mode fails here.
   */
  it.each([
    ['sky', 'sky'],
    ['skies', 'sky'], // martin: ski
    ['dying', 'die'], // martin: dy
    ['lying', 'lie'], // martin: ly
    ['news', 'news'], // martin: new
    ['howe', 'howe'], // martin: how
    ['proceed', 'proceed'], // martin: proce
    ['exceed', 'exceed'], // martin: exce
    ['succeed', 'succeed'], // martin: succe
    ['dies', 'die'], // martin: di
    ['died', 'die'], // martin: di
    ['ties', 'tie'], // martin: ti
    ['flies', 'fli'],
    ['spied', 'spi'],
    ['flying', 'fli'], // martin: fly
    ['happy', 'happi'],
    ['enjoy', 'enjoy'], // martin: enjoi
    ['days', 'day'], // martin: dai
    ['always', 'alway'], // martin: alwai
    ['ice', 'ice'], // martin: ic
    ['are', 'are'], // martin: ar
    ['carefully', 'care'], // martin: carefulli
    ['apology', 'apolog'],
    ['wholly', 'wholli'],
    ['agreed', 'agre'],
    ['feed', 'feed'],
    ['cats', 'cat'],
    ['running', 'run'],
    ['were', 'were'],
    ['tanned', 'tan'],
    ['falling', 'fall'],
    ['hissing', 'hiss'],
    ['failing', 'fail'],
    ['troubled', 'troubl'],
    ['hopeful', 'hope'],
    ['goodness', 'good'],
    ['rational', 'ration'],
    ['allowance', 'allow'],
    ['inference', 'infer'],
    ['defensible', 'defens'],
    ['dependent', 'depend'],
    ['controll', 'control'],
    ['roll', 'roll'],
    ['was', 'wa'],
    ['this', 'thi'],
  ])('%s -> %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });
});
