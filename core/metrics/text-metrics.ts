/**
 * Text metrics that need no model call: JSON Schema conformance, multiple-choice
 * letter extraction, rapidfuzz-style fuzzy ratio, Evalap's ocr_v1 and
 * python-Levenshtein's ratio.
 *
 * Every scorer is a pure function of its inputs and never throws on what a
 * model wrote: unparsable or unexpected output gives a score of 0 (or a null
 * extraction) and says why in the observation. Strings are compared by Unicode
 * code point, as Python compares `str` characters.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';

// ===================================================================== indel

/** Code points of a string (what Python indexes in a `str`). */
const codePoints = (s: string): number[] => {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) as number);
  return out;
};

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Length of the longest common subsequence, by the bit-vector recurrence of
 * Allison–Dix / Hyyrö (V' = (V + (V & M)) | (V & ~M), LCS = zero bits of V),
 * carried over as many 32-bit words as the shorter sequence needs.
 */
function lcsLength(a: readonly number[], b: readonly number[]): number {
  const [p, t] = a.length <= b.length ? [a, b] : [b, a];
  const m = p.length;
  if (m === 0) return 0;
  const words = (m + 31) >>> 5;
  const masks = new Map<number, Uint32Array>();
  for (let i = 0; i < m; i++) {
    let mask = masks.get(p[i]);
    if (!mask) masks.set(p[i], (mask = new Uint32Array(words)));
    mask[i >>> 5] |= 1 << (i & 31);
  }
  const v = new Uint32Array(words).fill(0xffffffff);
  for (const c of t) {
    const mask = masks.get(c);
    if (!mask) continue; // V & M = 0 leaves V unchanged
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const vw = v[w];
      const mw = mask[w];
      const sum = vw + ((vw & mw) >>> 0) + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      v[w] = (sum >>> 0) | (vw & ~mw);
    }
  }
  let ones = 0;
  for (let w = 0; w < words; w++) {
    const bits = w === words - 1 && m % 32 !== 0 ? v[w] & ((1 << (m % 32)) - 1) : v[w];
    ones += popcount32(bits >>> 0);
  }
  return m - ones;
}

/**
 * Indel distance: the fewest insertions and deletions (no substitutions) that
 * turn one sequence into the other, i.e. len(a) + len(b) - 2·LCS(a, b).
 */
export function indelDistance(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let endX = x.length;
  let endY = y.length;
  while (endX > start && endY > start && x[endX - 1] === y[endY - 1]) {
    endX--;
    endY--;
  }
  const xs = x.slice(start, endX);
  const ys = y.slice(start, endY);
  return xs.length + ys.length - 2 * lcsLength(xs, ys);
}

/** Normalized Indel similarity in [0, 1]: 1 - indel / (len(a) + len(b)); 1 for two empty strings. */
function indelNormalizedSimilarity(a: string, b: string): number {
  const lensum = codePoints(a).length + codePoints(b).length;
  if (lensum === 0) return 1;
  return 1 - indelDistance(a, b) / lensum;
}

/**
 * rapidfuzz `fuzz.ratio` (and fuzzywuzzy's, which rapidfuzz reproduces): the
 * normalized Indel similarity × 100, a float in [0, 100], not rounded, no
 * preprocessing (case and whitespace count). Two empty strings score 100.
 * Computed in the same order as rapidfuzz (`(1 - dist / lensum) * 100`) so the
 * floats agree to the last bit, e.g. ratio("this is a test", "this is a test!")
 * = 96.55172413793103.
 */
export function fuzzyRatio(a: string, b: string): number {
  return indelNormalizedSimilarity(a, b) * 100;
}

/**
 * python-Levenshtein `Levenshtein.ratio`: (lensum - d) / lensum where d is the
 * edit distance with substitutions weighing 2, which is the Indel distance; so
 * 1 - indel / (len(a) + len(b)). Not 1 - levenshtein / max(len). Two empty
 * strings give 1. ratio('Hello world!', 'Holly grail!') = 14 / 24.
 */
export function levenshteinRatio(a: string, b: string): number {
  return indelNormalizedSimilarity(a, b);
}

// ================================================================ JSON Schema

type SchemaDialect = 'draft-07' | '2019-09' | '2020-12';

const ajvOptions = {
  allErrors: true,
  strict: false, // unknown keywords are annotations, as the specification says
  validateFormats: false, // `format` is an annotation only (no ajv-formats here)
  addUsedSchema: false, // a schema's $id must not collide with another experiment's
  logger: false as const,
};

/**
 * Ajv keeps every function it compiles in its instance scope for good, so an
 * instance compiles at most AJV_COMPILES_PER_INSTANCE schemas and is then
 * replaced; an old instance is freed once the cache has dropped its validators.
 */
const AJV_COMPILES_PER_INSTANCE = 64;
let ajvInstances: Partial<Record<SchemaDialect, { ajv: Ajv | Ajv2019 | Ajv2020; compiles: number }>> = {};

function ajvFor(dialect: SchemaDialect): Ajv | Ajv2019 | Ajv2020 {
  let slot = ajvInstances[dialect];
  if (!slot || slot.compiles >= AJV_COMPILES_PER_INSTANCE) {
    const ajv = dialect === '2020-12' ? new Ajv2020(ajvOptions) : dialect === '2019-09' ? new Ajv2019(ajvOptions) : new Ajv(ajvOptions);
    slot = { ajv, compiles: 0 };
    ajvInstances[dialect] = slot;
  }
  slot.compiles += 1;
  return slot.ajv;
}

/** Which validator a schema's `$schema` asks for; a string for an unsupported one. */
function dialectOf(schema: unknown): SchemaDialect | { unsupported: string } {
  const declared = schema !== null && typeof schema === 'object' ? (schema as Record<string, unknown>).$schema : undefined;
  if (declared === undefined) return 'draft-07';
  if (typeof declared !== 'string') return { unsupported: '$schema must be a string' };
  if (/json-schema\.org\/draft\/2020-12\/schema/.test(declared)) return '2020-12';
  if (/json-schema\.org\/draft\/2019-09\/schema/.test(declared)) return '2019-09';
  // draft-06 is validated with draft-07 rules: draft-07 only added keywords
  // (if/then/else, readOnly, content*), which a draft-06 schema should not use.
  if (/json-schema\.org\/draft-0[67]\/schema/.test(declared)) return 'draft-07';
  return { unsupported: `unsupported $schema "${declared}" (use draft-07, 2019-09 or 2020-12)` };
}

type CompiledSchema = { validate: ValidateFunction; error?: undefined } | { validate?: undefined; error: string };

const SCHEMA_CACHE_SIZE = 64;
const schemaCache = new Map<string, CompiledSchema>();

function compileSchema(schema: unknown): CompiledSchema {
  if (typeof schema === 'boolean') schema = schema ? {} : { not: {} };
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return { error: 'invalid JSON Schema: a schema must be an object' };
  let key: string;
  try {
    key = JSON.stringify(schema);
  } catch (err) {
    return { error: `invalid JSON Schema: ${(err as Error).message}` };
  }
  const hit = schemaCache.get(key);
  if (hit) {
    schemaCache.delete(key); // refresh: the Map's order is least recently used first
    schemaCache.set(key, hit);
    return hit;
  }
  // Ajv gets a private copy (a caller mutating its object later cannot change
  // a cached validator) and forgets it once compiled: Ajv caches by identity.
  const copy = JSON.parse(key) as Record<string, unknown>;
  const dialect = dialectOf(copy);
  let entry: CompiledSchema;
  if (typeof dialect === 'object') {
    entry = { error: `invalid JSON Schema: ${dialect.unsupported}` };
  } else {
    const ajv = ajvFor(dialect);
    if (dialect === 'draft-07' && typeof copy.$schema === 'string' && copy.$schema.includes('draft-06')) delete copy.$schema;
    try {
      const validate = ajv.compile(copy);
      ajv.removeSchema(copy); // the compiled function keeps what it needs
      entry = { validate };
    } catch (err) {
      try {
        ajv.removeSchema(copy);
      } catch {
        /* nothing was registered */
      }
      entry = { error: `invalid JSON Schema: ${(err as Error).message}` };
    }
  }
  schemaCache.set(key, entry);
  if (schemaCache.size > SCHEMA_CACHE_SIZE) schemaCache.delete(schemaCache.keys().next().value as string);
  return entry;
}

/**
 * Checks a `json_schema` metric's params.schema: an error message when it is
 * not a usable JSON Schema (not an object, fails its meta-schema, unresolvable
 * $ref, unsupported $schema such as draft-04), undefined when it is fine.
 * Meant for param validation, e.g. a zod `.superRefine` that reports it.
 */
export function checkJsonSchema(schema: unknown): string | undefined {
  return compileSchema(schema).error;
}

/** Same as checkJsonSchema, but throws an Error carrying the message. */
export function assertJsonSchema(schema: unknown): void {
  const error = checkJsonSchema(schema);
  if (error) throw new Error(error);
}

/** The body of a ```json (or bare ```) fence when the whole output is one fenced block. */
function unfence(output: string): string | null {
  const m = /^```[ \t]*(?:json5?)?[ \t]*\r?\n([\s\S]*?)\r?\n?[ \t]*```$/i.exec(output.trim());
  return m ? m[1] : null;
}

const MAX_SCHEMA_ERRORS = 20;

/**
 * 1 when the output is JSON that the schema accepts, else 0. The output may be
 * wrapped in one ```json fenced block (and surrounding whitespace); prose
 * around the JSON makes it invalid. A bad schema never throws here (it should
 * have been refused by checkJsonSchema): it scores 0 with the schema error.
 */
export function jsonSchemaScore(output: string, schema: object): { score: 0 | 1; observation: { valid: boolean; errors?: string[] } } {
  const compiled = compileSchema(schema);
  if (compiled.error !== undefined) return { score: 0, observation: { valid: false, errors: [compiled.error] } };
  const text = typeof output === 'string' ? output.replace(/^\uFEFF/, '') : '';
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const inner = unfence(text);
    if (inner === null) return { score: 0, observation: { valid: false, errors: [`the output is not JSON: ${(err as Error).message}`] } };
    try {
      data = JSON.parse(inner);
    } catch (err2) {
      return { score: 0, observation: { valid: false, errors: [`the fenced block is not JSON: ${(err2 as Error).message}`] } };
    }
  }
  if (compiled.validate(data)) return { score: 1, observation: { valid: true } };
  const all = (compiled.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`.trim());
  const errors = all.length > MAX_SCHEMA_ERRORS ? [...all.slice(0, MAX_SCHEMA_ERRORS), `… and ${all.length - MAX_SCHEMA_ERRORS} more`] : all;
  return { score: 0, observation: { valid: false, errors: errors.length > 0 ? errors : ['the output does not match the schema'] } };
}

// ====================================================================== QCM
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

// ==================================================================== OCR v1

/** Python's str.strip() whitespace (str.isspace), which differs from JS trim(). */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const pyStrip = (s: string): string => s.replace(new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'gu'), '');

/** Evalap's extract_code: the last ```lang\n…``` block, stripped; else the whole text, stripped. */
function extractLastCodeBlock(text: string): string {
  let last: string | null = null;
  for (const m of text.matchAll(/```(?:[\p{L}\p{N}_]+)?\n([\s\S]*?)```/gu)) last = m[1];
  return pyStrip(last ?? text);
}

const pyTruthy = (v: unknown): boolean =>
  !(v === null || v === undefined || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0));

/**
 * When the text is a JSON list of blocks ({"text": markdown, …}), their texts
 * joined by blank lines, as Evalap does; otherwise null (Evalap then keeps the
 * text as is). Mirrors Python: every item must be an object, a falsy "text"
 * counts as "", and a truthy non-string "text" makes Evalap's join fail.
 */
function joinJsonBlocks(text: string): string | null {
  let blocks: unknown;
  try {
    blocks = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(blocks)) return null;
  const parts: string[] = [];
  for (const block of blocks) {
    if (block === null || typeof block !== 'object' || Array.isArray(block)) return null;
    const t = (block as Record<string, unknown>).text;
    if (!pyTruthy(t)) parts.push('');
    else if (typeof t === 'string') parts.push(t);
    else return null;
  }
  return parts.join('\n\n');
}

/**
 * Evalap's ocr_v1: take the last fenced code block of the output (the whole
 * output when there is none), read it as a JSON list of blocks when it is one
 * (their "text" fields joined by "\n\n"), and score rapidfuzz fuzz.ratio
 * against the expected text, unchanged. Evalap's score is the ratio in
 * 0..100 (`percent`); without it, the ratio divided by 100, in 0..1.
 */
export function ocrV1(output: string, expected: string, percent = false): { score: number; observation: { extracted: string } } {
  const code = extractLastCodeBlock(typeof output === 'string' ? output : '');
  const extracted = joinJsonBlocks(code) ?? code;
  const ratio = fuzzyRatio(extracted, typeof expected === 'string' ? expected : String(expected ?? ''));
  // Evalap's score is rapidfuzz's ratio, 0-100; `percent` false gives our 0-1.
  return { score: percent ? ratio : ratio / 100, observation: { extracted } };
}

/** For tests: forget compiled schemas and validator instances. */
export function resetJsonSchemaCache(): void {
  schemaCache.clear();
  ajvInstances = {};
}

/** For tests: how many compiled schemas are cached. */
export function jsonSchemaCacheSize(): number {
  return schemaCache.size;
}
