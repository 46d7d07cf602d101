/**
 * The metrics the platform knows: their names, inputs, params and score
 * ranges. The scoring code for each lives beside it as the runner gains it;
 * this table is what the API validates experiments against.
 */
import { z } from 'zod';
import { adhocTemplateProblem, templateVariables } from './adhoc-template.js';
import { checkJsonSchema } from './text-metrics.js';
import type { MetricDefinition } from './types.js';

const none = z.object({}).strict();
const flag = z.boolean().optional();
const Q = ['query'] as const;
const OUT = ['output'] as const;
const OUT_TRUE = ['output', 'output_true'] as const;

const judge = (name: string, description: string, require: readonly string[], range: [number, number], higherIsBetter = true): MetricDefinition => ({
  name,
  description,
  type: 'llm',
  require,
  params: none,
  range,
  higherIsBetter,
});

const rag = (name: string, description: string, require: readonly string[], higherIsBetter = true): MetricDefinition => ({
  name,
  description,
  type: 'rag',
  require,
  params: z.object({ threshold: z.number().min(0).max(1).optional() }).strict(),
  range: [0, 1],
  higherIsBetter,
});

const ops = (name: string, description: string, higherIsBetter: boolean): MetricDefinition => ({
  name,
  description,
  type: 'ops',
  require: OUT,
  params: none,
  range: [0, Number.POSITIVE_INFINITY],
  higherIsBetter,
});

export { templateVariables } from './adhoc-template.js';

export const METRICS: readonly MetricDefinition[] = [
  // ------------------------------------------------------------ deterministic
  {
    name: 'exact_match',
    description: 'Whether the output equals the expected output, after optional normalization.',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ ignore_case: flag, ignore_whitespace: flag, ignore_punctuation: flag }).strict(),
    range: [0, 1],
    higherIsBetter: true,
  },
  {
    name: 'contains',
    description: 'Whether the output contains the expected output.',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ ignore_case: flag }).strict(),
    range: [0, 1],
    higherIsBetter: true,
  },
  {
    name: 'starts_with',
    description: 'Whether the output starts with the expected output.',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ ignore_case: flag }).strict(),
    range: [0, 1],
    higherIsBetter: true,
  },
  {
    name: 'regex',
    description: 'Whether the output matches the regular expression in params.pattern.',
    type: 'deterministic',
    require: OUT,
    params: z
      .object({
        pattern: z.string().min(1).max(10_000).refine((p) => {
          try {
            new RegExp(p);
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression'),
        flags: z.string().regex(/^[imsu]*$/, 'allowed flags: i, m, s, u').optional(),
      })
      .strict(),
    range: [0, 1],
    higherIsBetter: true,
  },
  { name: 'json_valid', description: 'Whether the output parses as JSON.', type: 'deterministic', require: OUT, params: none, range: [0, 1], higherIsBetter: true },
  {
    name: 'json_schema',
    description: 'Whether the output is JSON valid against the JSON Schema in params.schema.',
    type: 'deterministic',
    require: OUT,
    params: z
      .object({
        schema: z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
          const problem = checkJsonSchema(schema);
          if (problem) ctx.addIssue({ code: 'custom', message: `not a valid JSON Schema: ${problem}` });
        }),
      })
      .strict(),
    range: [0, 1],
    higherIsBetter: true,
  },
  { name: 'levenshtein_ratio', description: 'Normalized Levenshtein similarity between output and expected output.', type: 'deterministic', require: OUT_TRUE, params: none, range: [0, 1], higherIsBetter: true },
  { name: 'bleu', description: 'SacreBLEU sentence BLEU (13a tokenization, exponential smoothing); corpus BLEU in the aggregates.', type: 'deterministic', require: OUT_TRUE, params: none, range: [0, 100], higherIsBetter: true },
  {
    name: 'rouge',
    description: 'ROUGE F-measure as Google\'s rouge-score defines it.',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ variant: z.enum(['rouge1', 'rouge2', 'rougeL', 'rougeLsum']).optional(), stemming: flag }).strict(),
    range: [0, 1],
    higherIsBetter: true,
  },
  {
    name: 'chrf',
    description: 'SacreBLEU chrF (character order 6, beta 2); chrF++ with params.word_order=2.',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ word_order: z.union([z.literal(0), z.literal(2)]).optional() }).strict(),
    range: [0, 100],
    higherIsBetter: true,
  },
  {
    name: 'numeric_diff',
    description: 'Absolute difference between the number in the output and the expected number.',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ relative: flag }).strict(),
    range: [0, Number.POSITIVE_INFINITY],
    higherIsBetter: false,
  },
  {
    name: 'qcm_exactness',
    description:
      '[0;1] Whether the answer to a multiple-choice question is the expected option. As Evalap\'s by default: the output (stripped of spaces, quotes and dots) must be one word, else no score; its first character must equal output_true exactly ("B." matches "B"; " B", "b", "(B)" do not). params.variant "extract" (ours) instead finds the chosen letter in a free-text answer ("The answer is (b)") and compares it, case-insensitively, with the letter of output_true ("B) Paris").',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ variant: z.enum(['evalap', 'extract']).optional() }).strict(),
    range: [0, 1],
    higherIsBetter: true,
  },
  {
    name: 'ocr_v1',
    description:
      '[0-100] As Evalap\'s: rapidfuzz fuzz.ratio between output_true and the output\'s last fenced code block (the whole output without one), read as a JSON list of blocks whose "text" fields are joined when it is one. params.variant "unit" (ours) gives the same ratio divided by 100, in 0-1.',
    type: 'deterministic',
    require: OUT_TRUE,
    params: z.object({ variant: z.enum(['evalap', 'unit']).optional() }).strict(),
    range: [0, 100],
    higherIsBetter: true,
  },
  { name: 'output_length', description: 'Number of words in the output.', type: 'deterministic', require: OUT, params: none, range: [0, Number.POSITIVE_INFINITY], higherIsBetter: true },
  // ---------------------------------------------------------------------- ops
  ops('generation_time', 'Seconds the model took to answer.', false),
  ops('nb_tokens_prompt', 'Prompt tokens of the generation.', false),
  ops('nb_tokens_completion', 'Completion tokens of the generation.', false),
  ops('nb_tool_calls', 'Tool calls made during the generation.', false),
  ops('energy_consumption', 'Energy consumption (kWh) of the generation: its environmental impact estimated by the EcoLogits method (midpoint of its range).', false),
  ops('gwp_consumption', 'Global Warming Potential (kgCO2eq) of the generation: its environmental impact estimated by the EcoLogits method (midpoint of its range).', false),
  // ---------------------------------------------------------------- judges
  // Evalap's judges (evalap/api/metrics/judge_*.py): same question, fields and scale; the judge replies with a bare number, kept as given.
  judge('judge_notator', '[1-10] A judge rates how close in meaning the output is to the expected output, given the query: 10 same meaning, 1 very different or not answering. As Evalap\'s.', [...Q, ...OUT_TRUE], [1, 10]),
  judge('judge_exactness', '[0;1] A judge says whether the output matches the expected output (1) or not (0), given the query. As Evalap\'s.', [...Q, ...OUT_TRUE], [0, 1]),
  judge('judge_precision', '[0;1] A judge says whether the expected output is contained in the output (1) or not (0), given the query. As Evalap\'s.', [...Q, ...OUT_TRUE], [0, 1]),
  judge('judge_completude', '[0-100] A judge rates how much of the expected output the output covers. As Evalap\'s: the query is not used.', OUT_TRUE, [0, 100]),
  judge('judge_rambling', '[1-10] A judge rates how much of the output is irrelevant or off topic, given the query and the expected output: 1 none, 10 mostly (lower is better). As Evalap\'s.', [...Q, ...OUT_TRUE], [1, 10], false),
  judge('judge_complexity', '[0-10] A judge rates how complex an administrative request (the query) is to handle: its clarity, how many administrations it involves, how complex its procedures are (higher is more complex), and names its theme. As Evalap\'s: only the query is used.', Q, [0, 10], false),
  judge('judge_relevant', '[1-10] A judge rates how many of the essential elements of the expected output the output contains, given the query: 10 all, 1 none. As Evalap\'s.', [...Q, ...OUT_TRUE], [1, 10]),
  {
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
  },
  {
    name: 'g_eval',
    description: 'A G-Eval style rubric judge: criteria and optional evaluation steps in params; score normalized to 0-1.',
    type: 'llm',
    require: [...Q, ...OUT],
    params: z
      .object({
        criteria: z.string().min(1).max(10_000),
        evaluation_steps: z.array(z.string().min(1)).max(50).optional(),
        use_output_true: flag,
      })
      .strict(),
    range: [0, 1],
    higherIsBetter: true,
    requireFromParams: (params) => (params.use_output_true ? ['output_true'] : []),
  },
  // ---------------------------------------------------------------------- rag
  rag('answer_relevancy', 'Share of the output\'s statements relevant to the query.', [...Q, ...OUT]),
  rag('faithfulness', 'Share of the output\'s claims supported by the retrieval context.', [...Q, ...OUT, 'retrieval_context']),
  rag('hallucination', 'Share of the contexts the output contradicts.', [...Q, ...OUT, 'context'], false),
  rag('contextual_precision', 'Whether relevant retrieval contexts are ranked above irrelevant ones.', [...Q, 'output_true', 'retrieval_context']),
  rag('contextual_recall', 'Share of the expected output attributable to the retrieval context.', [...Q, 'output_true', 'retrieval_context']),
  rag('contextual_relevancy', 'Share of the retrieval context relevant to the query.', [...Q, 'retrieval_context']),
  rag('bias', 'Share of the output\'s opinions that are biased.', [...Q, ...OUT], false),
  rag('toxicity', 'Share of the output\'s opinions that are toxic.', [...Q, ...OUT], false),
];
