/**
 * qcm_exactness: whether the answer to a multiple-choice question is the
 * expected option. By default exactly as Evalap computes it; params.variant
 * "extract" (ours) finds the chosen letter in a free-text answer.
 */
import { z } from 'zod';
import { pyFalsy, pySplit } from '../python-text.js';
import { text } from '../row-text.js';
import type { InlineMetric } from '../types.js';

// ================================================================= Evalap's
/*
 * As evalap/api/metrics/qcm.py: the output, stripped of spaces, newlines,
 * quotes and dots at both ends, must be a single word, else there is no
 * score; then the output's first character (of the output as given, not
 * stripped) must equal the expected output. So "B." scores 1 against "B",
 * but " B", "b" and "(B)" score 0.
 */
function qcmExactnessEvalap(output: string, expected: unknown): { score: 0 | 1 | null; observation: null } | { error: string } {
  // evalap/runners/tasks.py checks these before calling the metric.
  if (pyFalsy(output)) return { error: 'the metric qcm_exactness requires a non-empty output' };
  if (pyFalsy(expected)) return { error: 'the metric qcm_exactness requires a non-empty output_true' };
  const words = pySplit(output.replace(/^[ \n"'.]+|[ \n"'.]+$/g, ''));
  if (words.length > 1) return { score: null, observation: null };
  const first = String.fromCodePoint(output.codePointAt(0)!);
  return { score: typeof expected === 'string' && first === expected ? 1 : 0, observation: null };
}

// ============================================= params.variant "extract" (ours)
/*
 * qcm_exactness: which option letter (A–J, any case) did a free-form answer
 * choose? Evalap's metric only scores outputs that are a single token after
 * stripping spaces, quotes and dots, then compares the raw output's FIRST
 * CHARACTER, case-sensitively, with output_true: "(B)", "'B'", "b", "The
 * answer is B" or an expected "B) Paris" all fail, and "Bonjour" counts as B.
 * Here the letter is extracted by these rules, tried in order:
 *
 * 0. Clean-up: <think>…</think> reasoning is dropped (and anything before a
 *    lone </think>), NFKC folds full-width forms, curly apostrophes become ',
 *    markdown emphasis (* _ ` ~) and HTML tags are removed.
 * 1. Explicit statements; the LAST one in the text wins over anything said
 *    before it:
 *    - "answer|réponse|solution|option|choice|choix|proposition|letter|lettre"
 *      (singular) then is / est / was / would be / serait / : / - / = / → …, fillers
 *      (donc, therefore, the, la, l', option, lettre, an opening bracket…),
 *      then the letter: "The correct answer is (c)", "Réponse : B",
 *      "La bonne réponse est donc la C", "Final answer: option D";
 *    - a choosing verb: "I choose / I'd go with / I pick / I'd say",
 *      "je choisis / je retiens / j'opte pour / j'ai choisi / je dirais";
 *    - "B is correct", "B) Paris is the right answer", "(C) est la bonne
 *      réponse" (but not "is not correct" / "est incorrecte");
 *    - \boxed{B};
 *    - weak cues "it's / c'est / so / donc / therefore / I think / je pense"
 *      count only when the letter ends the clause ("…so B.", "C'est la B").
 * 2. The answer opens with an option: "B", "b", "B)", "(B)", "[B]", "B.",
 *    "B - Paris", "B: Paris", "B) Paris", "B Paris" (a capitalised word)… on
 *    its first line ("C programming…" is not an option). When several
 *    lines open with different options the output recites the options, and
 *    this rule holds only if the first line is the bare letter.
 * 3. Otherwise, the marked mentions — "(B)", "[B]", "B)" and "option B",
 *    "réponse B", "lettre B"… plus line-opening options — count if they all
 *    name one letter; several different letters are ambiguous → null.
 *
 * A letter is a candidate only as a word of its own: never inside a word
 * ("Bonjour", "CD"), never an elision ("J'ai", "d'accord"), never in an
 * abbreviation like "e.g." / "i.e.". A lowercase "a", and "I"/"i", followed by
 * a lowercase word are the article / the pronoun ("a city", "I think"), and so
 * is a capital "A" followed by a lowercase word at the start of a sentence
 * ("A capital city…"). After an explicit cue a capital "A" is the option
 * ("The answer is A because…").
 *
 * The expected value may be "B", "b", "(B)", "B)" or "B) Paris"; its first
 * option letter is used. Extraction and expected are compared uppercase.
 */

const LETTER = '([A-Ja-j])';
const NOT_LETTER_BEFORE = '(?<![\\p{L}\\p{N}_])';
const OPENERS = `[\\s"'«“(\\[{]*`;
const FILLER =
  '(?:(?:donc|therefore|thus|so|clearly|clairement|probably|probablement|sans doute|most likely|likely|definitely|certainement|bien|plutôt|rather|simply|simplement)\\s*,?\\s*)?' +
  "(?:(?:the|la|le|l'|une|un)\\s*)?" +
  '(?:(?:option|choice|choix|proposition|letter|lettre|réponse|reponse|answer|item|n°|number|numéro)\\s*)?' +
  OPENERS;
// singular only: "Options: A) … B) …" and "The correct answers are A and C" list, they do not choose
const FAMILY = '(?:answer|réponse|reponse|solution|option|choice|choix|proposition|letter|lettre|alternative)';
const QUALIFIER = '(?:\\s+(?:finale?|correcte?|exacte?|juste|attendue?|retenue?|choisie?))?';
const TOPIC =
  '(?:\\s+(?:to|for|à|de|du|pour)\\s+(?:this|the|that|cette|la|ce|cet|le)\\s+(?:question|qcm|mcq|problem|problème|exercise|exercice|quiz))?';
const LINK = "(?:(?:is|est|was|était|would be|serait|will be|sera|should be|devrait être|[:=]|->|→|=>|[-–—]|c'est)\\s*)+";
const VERB =
  "(?:i(?:'d| would| will|'ll)?\\s+(?:choose|chose|pick|picked|select|selected|go\\s+with|went\\s+with|say|answer)|my\\s+(?:final\\s+)?(?:choice|pick)\\s+(?:is|would be)|" +
  "je\\s+(?:choisis|choisirais|sélectionne|sélectionnerais|retiens|retiendrais|réponds|répondrais|dirais|coche|cocherais)|j'(?:opte|opterais)\\s+pour|j'ai\\s+(?:choisi|sélectionné|retenu|répondu|coché))";
const WEAK = "(?:it's|it\\s+is|c'est|ce\\s+serait|ça\\s+serait|so|therefore|thus|hence|donc|d'où|ainsi|i\\s+think|i\\s+believe|je\\s+pense|je\\s+crois)";
const VERDICT =
  "\\s+(?:is|est)\\s+(?:the\\s+|la\\s+|une\\s+|a\\s+)?(?:correct|right|bonne|correcte|juste|exacte|vraie|true|good|best|meilleure)(?![\\p{L}])";

const RE_STATEMENT = new RegExp(`${NOT_LETTER_BEFORE}${FAMILY}${QUALIFIER}${TOPIC}\\s*${LINK}${FILLER}${LETTER}`, 'dgiu');
const RE_VERB = new RegExp(`${NOT_LETTER_BEFORE}${VERB}\\s*:?\\s*${FILLER}${LETTER}`, 'dgiu');
const RE_WEAK = new RegExp(`${NOT_LETTER_BEFORE}${WEAK}\\s*,?\\s*:?\\s*${FILLER}${LETTER}`, 'dgiu');
// "B is correct", "(B) Paris is the right answer": the words between the letter
// and the verdict may not contain another " is " / " est ".
const RE_VERDICT = new RegExp(
  `${NOT_LETTER_BEFORE}(?:(?:${FAMILY})\\s*)?[("\\[«]?${LETTER}(?:(?:[)\\]»"]\\s*(?:[-–—:]\\s*)?|\\s*[-–—:]\\s*)(?:(?!\\s(?:is|est)\\s)[\\p{L}\\p{N}' ,]){1,40}?|[)\\]»"]?)${VERDICT}`,
  'dgiu',
);
const RE_BOXED = /\\boxed\{\s*(?:\\text(?:bf)?\{\s*)?\(?([A-Ja-j])/dgu;
const RE_MARKED = /[([]\s*([A-Ja-j])\s*[)\]]/dgu;
const RE_CLOSED = new RegExp(`${NOT_LETTER_BEFORE}([A-Ja-j])\\)`, 'dgu');
const RE_NAMED = new RegExp(`${NOT_LETTER_BEFORE}(?:option|choice|choix|proposition|lettre|letter|réponse|reponse|answer)\\s+[("\\[«]?${LETTER}`, 'dgiu');

interface TokenContext {
  /** Apply the article/pronoun rule for a capital A (sentence-initial position). */
  sentenceInitial: boolean;
  /** Skip the article/pronoun rule altogether (the verdict follows the letter). */
  noArticleRule?: boolean;
  /** The letter must end its clause (weak cues). */
  strictEnd?: boolean;
}

/** Whether the option-looking letter at `i` is a word of its own and not an article, pronoun or elision. */
function isOptionToken(text: string, i: number, ctx: TokenContext): boolean {
  const ch = text[i];
  if (!/^[A-Ja-j]$/.test(ch)) return false;
  if (i > 0 && /[\p{L}\p{N}_]$/u.test(text.slice(Math.max(0, i - 2), i))) return false;
  const rest = text.slice(i + 1, i + 48);
  if (/^[\p{L}\p{N}_]/u.test(rest)) return false; // part of a word
  if (/^'\p{L}/u.test(rest)) return false; // elision: J'ai, d'accord
  if (/^\.\p{L}\./u.test(rest)) return false; // abbreviation: e.g., i.e.
  if (ctx.strictEnd && !/^[)\]»"']*\s*(?:$|[.!?;,…]|\n)/u.test(rest)) return false;
  if (!ctx.noArticleRule && /^[ \t]+\p{Ll}/u.test(rest)) {
    if (ch === 'a' || ch === 'i' || ch === 'I') return false;
    if (ch === 'A' && ctx.sentenceInitial) return false;
  }
  return true;
}

function cleanForQcm(raw: string): string {
  // reasoning: keep what follows the last </think>; an unclosed <think> keeps everything
  let afterThink = -1;
  for (const m of raw.matchAll(/<\/think>/gi)) afterThink = (m.index as number) + m[0].length;
  let s = afterThink >= 0 ? raw.slice(afterThink) : raw.replace(/<\/?think>/gi, ' ');
  s = s.normalize('NFKC');
  s = s.replace(/[’‘ʼ`´]/g, (c) => (c === '`' ? '' : "'"));
  s = s.replace(/<\/?[a-z][^<>]*>/gi, '');
  s = s.replace(/[*_~]+/g, '');
  // one space or one line break per run of whitespace keeps the patterns linear
  s = s.replace(/\s+/g, (run) => (run.includes('\n') ? '\n' : ' '));
  return s;
}

/**
 * The letter opening a line (after list markers and openers): bare ("B",
 * "(B)", "B."), marked ("B) Paris", "B. Paris", "B: Paris", "B - Paris") or
 * followed by a capitalised word ("B Paris"); "C programming…" is none.
 */
function lineOpening(line: string): { letter: string; bare: boolean; marked: boolean; capitalNext: boolean } | null {
  const m = /^[\s>#]*(?:[-+•]\s+)?[\s"'«“(\[{]*([A-Ja-j])/u.exec(line);
  if (!m) return null;
  const index = m.index + m[0].length - 1;
  if (!isOptionToken(line, index, { sentenceInitial: true })) return null;
  const after = line.slice(index + 1);
  const bare = /^[)\]}»"'”]*\s*[.:!,;]?\s*$/u.test(after);
  const marked = /^(?:[)\]}]|\.(?=\s|$)|\s*[:]|\s+[-–—=]\s)/u.test(after) || /^\s*[(\[]/.test(line.slice(0, index).replace(/^[\s>#]*(?:[-+•]\s+)?/, ''));
  return { letter: m[1].toUpperCase(), bare, marked, capitalNext: /^\s+[\p{Lu}\p{N}]/u.test(after) && !/^\s+[A-Ja-j](?![\p{L}\p{N}_])/u.test(after) };
}

/** Extracts the chosen option letter (uppercase A–J) from a free-form answer, or null. */
export function extractQcmLetter(output: string): string | null {
  if (typeof output !== 'string' || output.trim() === '') return null;
  const text = cleanForQcm(output);

  // 1. explicit statements, last one wins
  let best: { index: number; letter: string } | null = null;
  const consider = (re: RegExp, ctx: TokenContext): void => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const letterIndex = letterStart(m);
      if (isOptionToken(text, letterIndex, ctx) && (best === null || letterIndex > best.index)) best = { index: letterIndex, letter: m[1].toUpperCase() };
      re.lastIndex = m.index + 1; // overlapping candidates: a rejected one must not hide the next
    }
  };
  consider(RE_STATEMENT, { sentenceInitial: false });
  consider(RE_VERB, { sentenceInitial: false });
  consider(RE_WEAK, { sentenceInitial: false, strictEnd: true });
  consider(RE_VERDICT, { sentenceInitial: false, noArticleRule: true });
  consider(RE_BOXED, { sentenceInitial: false, noArticleRule: true });
  if (best !== null) return (best as { letter: string }).letter;

  // 2. the answer opens with an option
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const openings = lines.map(lineOpening);
  const first = openings[0] ?? null;
  const listed = new Set(openings.filter((o) => o !== null && o.marked).map((o) => (o as { letter: string }).letter));
  if (first !== null && (first.bare || ((first.marked || first.capitalNext) && [...listed].every((l) => l === first.letter)))) return first.letter;

  // 3. marked mentions naming a single letter
  const mentions = new Set<string>(listed);
  for (const re of [RE_MARKED, RE_CLOSED]) {
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) mentions.add(m[1].toUpperCase());
  }
  RE_NAMED.lastIndex = 0;
  for (const m of text.matchAll(RE_NAMED)) {
    const letterIndex = letterStart(m);
    if (isOptionToken(text, letterIndex, { sentenceInitial: false })) mentions.add(m[1].toUpperCase());
  }
  return mentions.size === 1 ? [...mentions][0] : null;
}

/** Index in the text of capture group 1 (the letter); every pattern carries the `d` flag. */
const letterStart = (m: RegExpExecArray | RegExpMatchArray): number => (m.indices as RegExpIndicesArray)[1][0];

/** The option letter of an expected answer: "B", "b", "(B)", "B)", "B) Paris". */
function expectedLetter(expected: string): string | null {
  const m = /^[\s"'«“(\[{*]*([A-Ja-j])(?![\p{L}\p{N}_])/u.exec(String(expected ?? '').normalize('NFKC'));
  return m ? m[1].toUpperCase() : null;
}

/**
 * 1 when the option letter chosen in the output is the expected one, else 0.
 * See the rules above. Never throws.
 */
export function qcmExactness(output: string, expected: string): { score: 0 | 1; observation: { extracted: string | null; expected: string } } {
  const want = expectedLetter(expected);
  const extracted = extractQcmLetter(output);
  return {
    score: want !== null && extracted === want ? 1 : 0,
    observation: { extracted, expected: want ?? String(expected ?? '') },
  };
}

export const qcm: InlineMetric = {
  name: 'qcm_exactness',
  description:
    '[0;1] Whether the answer to a multiple-choice question is the expected option. As Evalap\'s by default: the output (stripped of spaces, quotes and dots) must be one word, else no score; its first character must equal output_true exactly ("B." matches "B"; " B", "b", "(B)" do not). params.variant "extract" (ours) instead finds the chosen letter in a free-text answer ("The answer is (b)") and compares it, case-insensitively, with the letter of output_true ("B) Paris").',
  type: 'deterministic',
  require: ['output', 'output_true'],
  params: z.object({ variant: z.enum(['evalap', 'extract']).optional() }).strict(),
  range: [0, 1],
  higherIsBetter: true,
  score: (i, p) => (p.variant === 'extract' ? qcmExactness(i.output, text(i.output_true)) : qcmExactnessEvalap(i.output, i.output_true)),
};
