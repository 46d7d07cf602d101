/**
 * judge_adhoc, Evalap's custom judge: the user's prompt template, rendered
 * from the row, is the whole prompt; the judge replies with a number. Evalap
 * renders the template with Jinja2; this renders the part of Jinja a judge
 * prompt uses — `{{ name }}`, `{{ name.key }}`, `{{ name[0] }}`,
 * `{{ name["key"] }}` and `{# comments #}` — with Jinja's meaning, and
 * refuses everything else (filters, `{% %}` blocks, expressions) when the
 * experiment is created, rather than sending the judge a prompt with holes
 * in it. `scale` (ours) adds a sentence and bounds the score.
 */
import { z } from 'zod';
import { readScoredReply } from '../judge-reply.js';
import type { JudgedMetric } from '../types.js';
/** One `{{ ... }}` expression we render: a variable, then keys or indexes. */
const PATH = /^\s*([A-Za-z_]\w*)((?:\s*\.\s*[A-Za-z_]\w*|\s*\[\s*(?:\d+|"[^"\\]*"|'[^'\\]*')\s*\])*)\s*$/;
const STEP = /\.\s*([A-Za-z_]\w*)|\[\s*(\d+|"[^"\\]*"|'[^'\\]*')\s*\]/g;
const TAG = /\{\{([\s\S]*?)\}\}|\{#[\s\S]*?#\}|\{%[\s\S]*?%\}|\{\{|\{%|\{#/g;

type Part = { text: string } | { root: string; steps: (string | number)[] };

/** The template cut into text and expressions, or the first thing it cannot render, quoted. */
function parse(template: string): { parts: Part[] } | { unsupported: string } {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(TAG)) {
    parts.push({ text: template.slice(last, m.index) });
    last = m.index + m[0].length;
    if (m[0].startsWith('{#') && m[0].endsWith('#}')) continue; // a Jinja comment renders as nothing
    const path = m[1] === undefined ? null : PATH.exec(m[1]);
    if (!path) return { unsupported: m[0].length > 60 ? `${m[0].slice(0, 57)}...` : m[0] };
    const steps = [...path[2].matchAll(STEP)].map((s) => (s[1] !== undefined ? s[1] : /^\d+$/.test(s[2]) ? Number(s[2]) : s[2].slice(1, -1)));
    parts.push({ root: path[1], steps });
  }
  parts.push({ text: template.slice(last) });
  return { parts };
}

/** Why the template cannot be rendered, or null when it can. */
export function adhocTemplateProblem(template: string): string | null {
  const out = parse(template);
  if (!('unsupported' in out)) return null;
  return `cannot render ${JSON.stringify(out.unsupported)}: the prompt may use {{ variable }}, {{ variable.key }}, {{ variable[0] }} and {# comments #}, not Jinja filters, expressions or {% %} blocks`;
}

/** The variables the template reads (each expression's first name): the fields the metric requires. */
export function templateVariables(template: string): string[] {
  const out = parse(template);
  if ('unsupported' in out) return [];
  return [...new Set(out.parts.flatMap((p) => ('root' in p ? [p.root] : [])))];
}

/** A value as Jinja prints it: strings as they are, Python's True/False, nothing for a missing value, JSON for lists and objects. */
function show(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Jinja's lookup: a missing key or index is undefined, which prints as nothing. */
function lookup(value: unknown, step: string | number): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return typeof step === 'number' ? value[step] : undefined;
  if (typeof value !== 'object') return undefined;
  return Object.hasOwn(value, step) ? (value as Record<string | number, unknown>)[step] : undefined;
}

/** The template rendered from the row. Throws on a template `adhocTemplateProblem` refuses (checked at launch). */
export function renderAdhoc(template: string, row: Record<string, unknown>): string {
  const out = parse(template);
  if ('unsupported' in out) throw new Error(adhocTemplateProblem(template)!);
  return out.parts
    .map((p) => ('text' in p ? p.text : show(p.steps.reduce<unknown>(lookup, Object.hasOwn(row, p.root) ? row[p.root] : undefined))))
    .join('');
}

export const judgeAdhoc: JudgedMetric = {
  name: 'judge_adhoc',
  description:
    'A judge scores the output with the prompt in params.prompt, rendered from the row ({{output}}, {{output_true}}, {{query}}, any dataset column, {{column.key}}, {{column[0]}}); the judge replies with a number. As Evalap\'s, except that Jinja filters and {% %} blocks are refused at creation. Ours: params.scale [lo, hi] asks for a score on that scale and records one outside it as an error.',
  type: 'llm',
  require: [],
  params: z
    .object({
      prompt: z
        .string()
        .min(1)
        .max(100_000)
        .superRefine((p, ctx) => {
          const problem = adhocTemplateProblem(p);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      scale: z.tuple([z.number(), z.number()]).optional(),
    })
    .strict(),
  range: [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
  higherIsBetter: true,
  requireFromParams: (params) => templateVariables(String(params.prompt ?? '')),
  judge: {
    version: 'adhoc-2',
    prompt: (input, params) => {
      const rendered = renderAdhoc(params.prompt, input);
      if (!params.scale) return rendered;
      const [lo, hi] = params.scale;
      return `${rendered}\n\nReply with a score from ${lo} to ${hi} alone, nothing else.`;
    },
    read: (answer, _input, params) => readScoredReply(answer, params.scale),
  },
};
