/**
 * ocr_v1, as Evalap's (evalap/api/metrics/ocr_json.py): rapidfuzz's
 * fuzz.ratio between the expected text and the text the output transcribes.
 */
import { z } from 'zod';
import { pyFalsy, pyStrip } from '../python-text.js';
import { text as fieldText } from '../row-text.js';
import type { InlineMetric } from '../types.js';
import { fuzzyRatio } from './levenshtein.js';

/** Evalap's extract_code: the last ```lang\n…``` block, stripped; else the whole text, stripped. */
function extractLastCodeBlock(text: string): string {
  let last: string | null = null;
  for (const m of text.matchAll(/```(?:[\p{L}\p{N}_]+)?\n([\s\S]*?)```/gu)) last = m[1];
  return pyStrip(last ?? text);
}

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
    if (pyFalsy(t)) parts.push('');
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

export const ocr: InlineMetric = {
  name: 'ocr_v1',
  description:
    '[0-100] As Evalap\'s: rapidfuzz fuzz.ratio between output_true and the output\'s last fenced code block (the whole output without one), read as a JSON list of blocks whose "text" fields are joined when it is one. params.variant "unit" (ours) gives the same ratio divided by 100, in 0-1.',
  type: 'deterministic',
  require: ['output', 'output_true'],
  params: z.object({ variant: z.enum(['evalap', 'unit']).optional() }).strict(),
  range: [0, 100],
  higherIsBetter: true,
  score: (i, p) => ocrV1(i.output, fieldText(i.output_true), p.variant !== 'unit'),
};
