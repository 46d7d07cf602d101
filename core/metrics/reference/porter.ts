/**
 * Porter stemmer (M. F. Porter, "An algorithm for suffix stripping",
 * Program 14.3, 1980) in the variant NLTK calls NLTK_EXTENSIONS — the
 * default of `nltk.stem.porter.PorterStemmer()`, which is what Google's
 * `rouge-score` constructs when `use_stemmer=True`. ROUGE scores computed with
 * stemming only agree with rouge-score if every stem agrees, so the NLTK
 * departures from the paper are all kept, including the ones that look odd:
 *
 * - a small table of irregular forms bypasses the algorithm;
 * - words of one or two characters are returned as they are;
 * - 4-letter `-ies` / `-ied` words keep their `e` (dies -> die, died -> die);
 * - Step 1c turns `y` into `i` only after a consonant that is not the first letter;
 * - Step 2 uses `bli` (not `abli`), tries `alli` first and reruns Step 2 on
 *   its result, and adds `fulli -> ful` and `logi -> log` (the `l` counted in
 *   the stem's measure);
 * - the *o condition also holds for a two-letter vowel-consonant stem.
 *
 * Within each step the first rule whose suffix matches decides, even when its
 * condition fails (no later rule is tried), as in NLTK rather than by longest
 * suffix.
 *
 * Written for lowercase ASCII words, which is all the ROUGE tokenizer feeds it;
 * other input is lowercased and handled per UTF-16 code unit.
 */

/** Forms NLTK maps straight to a stem, skipping the steps. Looked up before lowercasing, as NLTK does. */
const IRREGULAR: ReadonlyMap<string, string> = new Map([
  ['sky', 'sky'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['news', 'news'],
  ['innings', 'inning'],
  ['inning', 'inning'],
  ['outings', 'outing'],
  ['outing', 'outing'],
  ['cannings', 'canning'],
  ['canning', 'canning'],
  ['howe', 'howe'],
  ['proceed', 'proceed'],
  ['exceed', 'exceed'],
  ['succeed', 'succeed'],
]);

const isVowelLetter = (ch: string): boolean => ch === 'a' || ch === 'e' || ch === 'i' || ch === 'o' || ch === 'u';

/**
 * Consonant flags for each position. `y` is a consonant at the start or after
 * a vowel, a vowel after a consonant; since that only looks backwards, the
 * flags of a prefix are a prefix of the flags, so callers may pass stems.
 */
function consonantFlags(w: string): boolean[] {
  const flags: boolean[] = new Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const ch = w[i];
    flags[i] = isVowelLetter(ch) ? false : ch === 'y' ? i === 0 || !flags[i - 1] : true;
  }
  return flags;
}

const isConsonant = (w: string, i: number): boolean => consonantFlags(w)[i];

/** Porter's m: the number of vowel-run-to-consonant-run transitions, [C](VC){m}[V]. */
function measure(stem: string): number {
  const c = consonantFlags(stem);
  let m = 0;
  for (let i = 1; i < c.length; i++) if (!c[i - 1] && c[i]) m++;
  return m;
}

const positiveMeasure = (stem: string): boolean => measure(stem) > 0;
const measureAbove1 = (stem: string): boolean => measure(stem) > 1;
const hasVowel = (stem: string): boolean => consonantFlags(stem).some((c) => !c);

/** *d: ends in a doubled consonant. */
function endsDoubleConsonant(w: string): boolean {
  const n = w.length;
  return n >= 2 && w[n - 1] === w[n - 2] && isConsonant(w, n - 1);
}

/** *o: ends consonant-vowel-consonant with the last not w, x or y; NLTK also accepts a bare vowel-consonant word. */
function endsCvc(w: string): boolean {
  const n = w.length;
  const c = consonantFlags(w);
  if (n >= 3 && c[n - 3] && !c[n - 2] && c[n - 1] && w[n - 1] !== 'w' && w[n - 1] !== 'x' && w[n - 1] !== 'y') return true;
  return n === 2 && !c[0] && c[1];
}

/** Strip a suffix by length: `slice(0, -0)` would empty the word. */
const strip = (w: string, suffix: string): string => w.slice(0, w.length - suffix.length);

type Rule = readonly [suffix: string, replacement: string, condition: (stem: string) => boolean];

/** The first rule whose suffix matches decides the outcome, whether or not its condition holds. */
function applyFirstMatching(w: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (!w.endsWith(suffix)) continue;
    const stem = strip(w, suffix);
    return condition(stem) ? stem + replacement : w;
  }
  return w;
}

const always = (): boolean => true;

function step1a(w: string): string {
  if (w.length === 4 && w.endsWith('ies')) return strip(w, 'ies') + 'ie';
  return applyFirstMatching(w, [
    ['sses', 'ss', always],
    ['ies', 'i', always],
    ['ss', 'ss', always],
    ['s', '', always],
  ]);
}

function step1b(w: string): string {
  if (w.endsWith('ied')) return strip(w, 'ied') + (w.length === 4 ? 'ie' : 'i');
  // `eed` is decided here even when m = 0, so "feed" never reaches the -ed rule.
  if (w.endsWith('eed')) {
    const stem = strip(w, 'eed');
    return positiveMeasure(stem) ? stem + 'ee' : w;
  }
  let stem: string | null = null;
  for (const suffix of ['ed', 'ing']) {
    if (w.endsWith(suffix) && hasVowel(strip(w, suffix))) {
      stem = strip(w, suffix);
      break;
    }
  }
  if (stem === null) return w;
  // Restore an `e` the suffix removal may have eaten, or undouble a consonant.
  if (stem.endsWith('at') || stem.endsWith('bl') || stem.endsWith('iz')) return stem + 'e';
  if (endsDoubleConsonant(stem)) {
    const last = stem[stem.length - 1];
    return last === 'l' || last === 's' || last === 'z' ? stem : stem.slice(0, -1);
  }
  return measure(stem) === 1 && endsCvc(stem) ? stem + 'e' : stem;
}

function step1c(w: string): string {
  if (!w.endsWith('y')) return w;
  const stem = strip(w, 'y');
  return stem.length > 1 && isConsonant(stem, stem.length - 1) ? stem + 'i' : w;
}

const STEP2_RULES: readonly Rule[] = [
  ['ational', 'ate', positiveMeasure],
  ['tional', 'tion', positiveMeasure],
  ['enci', 'ence', positiveMeasure],
  ['anci', 'ance', positiveMeasure],
  ['izer', 'ize', positiveMeasure],
  ['bli', 'ble', positiveMeasure],
  ['alli', 'al', positiveMeasure],
  ['entli', 'ent', positiveMeasure],
  ['eli', 'e', positiveMeasure],
  ['ousli', 'ous', positiveMeasure],
  ['ization', 'ize', positiveMeasure],
  ['ation', 'ate', positiveMeasure],
  ['ator', 'ate', positiveMeasure],
  ['alism', 'al', positiveMeasure],
  ['iveness', 'ive', positiveMeasure],
  ['fulness', 'ful', positiveMeasure],
  ['ousness', 'ous', positiveMeasure],
  ['aliti', 'al', positiveMeasure],
  ['iviti', 'ive', positiveMeasure],
  ['biliti', 'ble', positiveMeasure],
  ['fulli', 'ful', positiveMeasure],
  // The stem passed here lacks the `l`; the measure is taken with it, so that
  // short stems such as geo-/theo- still qualify.
  ['logi', 'log', (stem) => positiveMeasure(stem + 'l')],
];

function step2(w: string): string {
  if (w.endsWith('alli') && positiveMeasure(strip(w, 'alli'))) return step2(strip(w, 'alli') + 'al');
  return applyFirstMatching(w, STEP2_RULES);
}

const STEP3_RULES: readonly Rule[] = [
  ['icate', 'ic', positiveMeasure],
  ['ative', '', positiveMeasure],
  ['alize', 'al', positiveMeasure],
  ['iciti', 'ic', positiveMeasure],
  ['ical', 'ic', positiveMeasure],
  ['ful', '', positiveMeasure],
  ['ness', '', positiveMeasure],
];

const STEP4_RULES: readonly Rule[] = [
  ['al', '', measureAbove1],
  ['ance', '', measureAbove1],
  ['ence', '', measureAbove1],
  ['er', '', measureAbove1],
  ['ic', '', measureAbove1],
  ['able', '', measureAbove1],
  ['ible', '', measureAbove1],
  ['ant', '', measureAbove1],
  ['ement', '', measureAbove1],
  ['ment', '', measureAbove1],
  ['ent', '', measureAbove1],
  ['ion', '', (stem) => measureAbove1(stem) && (stem.endsWith('s') || stem.endsWith('t'))],
  ['ou', '', measureAbove1],
  ['ism', '', measureAbove1],
  ['ate', '', measureAbove1],
  ['iti', '', measureAbove1],
  ['ous', '', measureAbove1],
  ['ive', '', measureAbove1],
  ['ize', '', measureAbove1],
];

/** Both 5a rules share the suffix `e`, so unlike the other steps the second is tried when the first fails. */
function step5a(w: string): string {
  if (!w.endsWith('e')) return w;
  const stem = strip(w, 'e');
  const m = measure(stem);
  return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : w;
}

/** The measure is that of the word less one `l`, i.e. still ending in `l`. */
const step5b = (w: string): string => (w.endsWith('ll') && measureAbove1(w.slice(0, -1)) ? w.slice(0, -1) : w);

/** `nltk.stem.porter.PorterStemmer().stem(word)` (NLTK_EXTENSIONS mode, lowercasing on). */
export function porterStem(word: string): string {
  const irregular = IRREGULAR.get(word);
  if (irregular !== undefined) return irregular;
  const lower = word.toLowerCase();
  if (word.length <= 2) return lower;
  let w = step1a(lower);
  w = step1b(w);
  w = step1c(w);
  w = step2(w);
  w = applyFirstMatching(w, STEP3_RULES);
  w = applyFirstMatching(w, STEP4_RULES);
  w = step5a(w);
  return step5b(w);
}
