/**
 * g_eval, a G-Eval judge (Liu et al. 2023) scored as DeepEval's GEval scores
 * it (deepeval/metrics/g_eval/, v4), the default (`scale: "deepeval"`):
 * - the judge sees the fields named by `evaluation_params` (DeepEval's names:
 *   input, actual_output, expected_output, context, retrieval_context;
 *   input and actual_output unless told), and follows `evaluation_steps`;
 *   given `criteria` alone, it first writes 3–4 steps from them, once for the
 *   whole experiment (SharedSteps: every row is judged by the same steps, as
 *   DeepEval writes them once per metric);
 * - it scores 0–10 (or the range of a `rubric`), reason first; when the
 *   provider returns token log-probabilities (20 alternatives asked for), the
 *   score is the probability-weighted one (../logprob-score.ts), else the
 *   judge's integer; then normalized to 0–1 by the range;
 * - `strict_mode` asks for 1 (follows the steps entirely) or 0, with no
 *   weighting, and success needs 1; `threshold` (0.5) decides `success`;
 *   `include_reason: false` drops the reason (deepeval-score.ts).
 * `scale: "1-5"` keeps the first version of this metric (g-eval-1to5.ts).
 *
 * The scale a use means is pinned at launch (`pinParams`): a stored use
 * without one was launched before the DeepEval scale existed, and keeps
 * being scored 1–5 (a retry of an old experiment does not mix scales).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ask, jsonSteps, numbered } from '../judge-prompt.js';
import { JudgeReplyError, parseJudgeReply, scoreIn, strings } from '../judge-reply.js';
import { weightedScore } from '../logprob-score.js';
import { flag } from '../params.js';
import { list, text } from '../row-text.js';
import type { AskJudge, JudgedMetric, JudgeTools, ScoreInput } from '../types.js';
import { deepevalParams, finish } from './deepeval-score.js';
import { ONE_TO_FIVE_VERSION, oneToFivePrompt, oneToFiveScore } from './g-eval-1to5.js';

/** DeepEval's evaluation params this metric can show, with our field each reads and the title the judge sees. */
const EVALUATION_PARAMS = {
  input: { field: 'query', title: 'Input' },
  actual_output: { field: 'output', title: 'Actual Output' },
  expected_output: { field: 'output_true', title: 'Expected Output' },
  context: { field: 'context', title: 'Context' },
  retrieval_context: { field: 'retrieval_context', title: 'Retrieval Context' },
} as const;
type EvaluationParam = keyof typeof EVALUATION_PARAMS;
const PARAM_NAMES = Object.keys(EVALUATION_PARAMS) as [EvaluationParam, ...EvaluationParam[]];
const DEFAULT_PARAMS: EvaluationParam[] = ['input', 'actual_output'];

/** DeepEval's GEval asks for this many alternatives per token. */
const TOP_LOGPROBS = 20;
const DEFAULT_RANGE: [number, number] = [0, 10];

const VERSION = 'geval-2';
const STRICT_VERSION = 'geval-2-strict';
/** The steps prompt's own version: part of what the shared steps are keyed by. */
const STEPS_VERSION = 'geval-steps-1';

/** Params only the DeepEval scale reads. */
const DEEPEVAL_ONLY = ['evaluation_params', 'rubric', 'threshold', 'strict_mode', 'include_reason'] as const;

const rubricItem = z
  .object({
    score_range: z.tuple([z.number().int().min(0).max(10), z.number().int().min(0).max(10)]),
    expected_outcome: z.string().min(1).max(2000),
  })
  .strict();

type Rubric = z.infer<typeof rubricItem>[];

interface GEvalParams {
  criteria?: string;
  evaluation_steps?: string[];
  evaluation_params?: EvaluationParam[];
  rubric?: Rubric;
  use_output_true?: boolean;
  scale?: 'deepeval' | '1-5';
  threshold?: number;
  strict_mode?: boolean;
  include_reason?: boolean;
}

const params = deepevalParams({
  criteria: z
    .string()
    .max(10_000)
    .refine((s) => s.trim() !== '', 'criteria must not be empty')
    .optional(),
  evaluation_steps: z.array(z.string().min(1)).min(1, 'evaluation_steps must not be empty: give steps, or leave them out for the judge to write them from the criteria').max(50).optional(),
  evaluation_params: z
    .array(z.enum(PARAM_NAMES, { error: `unknown evaluation param; this g_eval shows ${PARAM_NAMES.join(', ')} (DeepEval's metadata, tags and tool params are not supported)` }))
    .min(1, 'evaluation_params must not be empty')
    .max(PARAM_NAMES.length)
    .optional(),
  rubric: z.array(rubricItem).min(1).max(11).optional(),
  use_output_true: flag,
  scale: z.enum(['deepeval', '1-5']).optional(),
}).superRefine((p, ctx) => {
  if (p.criteria === undefined && p.evaluation_steps === undefined) {
    ctx.addIssue({ code: 'custom', path: [], message: 'give criteria, evaluation_steps or both: the judge needs one of them' });
  }
  if (p.evaluation_params && new Set(p.evaluation_params).size !== p.evaluation_params.length) {
    ctx.addIssue({ code: 'custom', path: ['evaluation_params'], message: 'evaluation_params names a field twice' });
  }
  if (p.scale === '1-5') {
    if (p.criteria === undefined) ctx.addIssue({ code: 'custom', path: ['criteria'], message: 'scale "1-5" needs criteria' });
    for (const key of DEEPEVAL_ONLY) if (p[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to scale "deepeval" only` });
  }
  if (p.rubric) {
    const sorted = sortRubric(p.rubric);
    sorted.forEach((r, i) => {
      if (r.score_range[0] > r.score_range[1]) ctx.addIssue({ code: 'custom', path: ['rubric'], message: `a rubric's score_range must not start above its end: ${JSON.stringify(r.score_range)}` });
      const next = sorted[i + 1];
      if (next && r.score_range[1] >= next.score_range[0]) ctx.addIssue({ code: 'custom', path: ['rubric'], message: `the rubric's score ranges overlap: ${JSON.stringify(r.score_range)} and ${JSON.stringify(next.score_range)}` });
    });
    const [lo, hi] = rangeOf(sorted);
    if (hi <= lo) ctx.addIssue({ code: 'custom', path: ['rubric'], message: 'the rubric must span more than one score' });
  }
});

const sortRubric = (rubric: Rubric): Rubric => [...rubric].sort((a, b) => a.score_range[0] - b.score_range[0]);
const rangeOf = (sorted: Rubric | undefined): [number, number] => (sorted?.length ? [sorted[0].score_range[0], sorted.at(-1)!.score_range[1]] : DEFAULT_RANGE);
const isDeepeval = (p: GEvalParams) => p.scale === 'deepeval';

/** The evaluation params a use shows: its own, else input and actual output; `use_output_true` adds the expected output. */
function shownParams(p: GEvalParams): EvaluationParam[] {
  const shown = p.evaluation_params ?? DEFAULT_PARAMS;
  return p.use_output_true && !shown.includes('expected_output') ? [...shown, 'expected_output'] : shown;
}

/** "Input", "Input and Actual Output", "Input, Actual Output, and Expected Output". */
function titles(shown: EvaluationParam[]): string {
  const t = shown.map((name) => EVALUATION_PARAMS[name].title);
  return t.length <= 2 ? t.join(' and ') : `${t.slice(0, -1).join(', ')}, and ${t.at(-1)}`;
}

const numberedSteps = (steps: string[]) => steps.map((s, i) => `${i + 1}. ${s}`).join('\n');

/** The row's fields the judge is shown, each under its title; contexts one item a line. */
function testCase(input: ScoreInput, shown: EvaluationParam[]): [string, string][] {
  return shown.map((name) => {
    const { field, title } = EVALUATION_PARAMS[name];
    const value = input[field];
    return [title, field === 'context' || field === 'retrieval_context' ? numbered(list(value)) : text(value)];
  });
}

function stepsPrompt(p: GEvalParams): string {
  const fields = titles(shownParams(p));
  return ask(
    `You will judge the ${fields} of test cases by the criteria below. Write 3 or 4 short evaluation steps that put these criteria into practice, making clear how the ${fields} are to be weighed against one another.`,
    [['Criteria', p.criteria ?? '']],
    '{"steps": ["<step>", "..."]}',
  );
}

function evaluationPrompt(input: ScoreInput, p: GEvalParams, steps: string[]): string {
  const shown = shownParams(p);
  const fields = titles(shown);
  const noQuote = `Start with a brief reason naming the particular strengths or shortcomings, with details from the ${fields}; do not state the score in it.`;
  if (p.strict_mode) {
    return ask(
      `Judge the test case below by the evaluation steps. Give a score of 1 if it satisfies them entirely, 0 otherwise. ${noQuote}`,
      [['Evaluation steps', numberedSteps(steps)], ...testCase(input, shown)],
      '{"reason": "<brief reason>", "score": 0 | 1}',
    );
  }
  const rubric = p.rubric && sortRubric(p.rubric);
  const [lo, hi] = rangeOf(rubric);
  const scoring = rubric ? 'as the rubric describes' : `${hi} when it follows the evaluation steps fully, ${lo} when it follows none of them`;
  const rubricText = rubric?.map(({ score_range: [a, b], expected_outcome }) => `${a === b ? a : `${a}-${b}`}: ${expected_outcome}`).join('\n');
  return ask(
    `Judge the test case below by the evaluation steps${rubric ? ' and the rubric' : ''}. Give it an integer score from ${lo} to ${hi}, ${scoring}. ${noQuote}`,
    [['Evaluation steps', numberedSteps(steps)], ...(rubricText ? ([['Rubric', rubricText]] as [string, string][]) : []), ...testCase(input, shown)],
    `{"reason": "<brief reason>", "score": <integer ${lo}-${hi}>}`,
  );
}

/** Asks for the steps from the criteria: DeepEval's first call. */
async function makeSteps(askJudge: AskJudge, p: GEvalParams): Promise<string[]> {
  const steps = strings(parseJudgeReply(await askJudge(stepsPrompt(p))), 'steps').filter((s) => s.trim() !== '');
  if (!steps.length) throw new JudgeReplyError('the judge wrote no evaluation steps');
  return steps;
}

/** What the shared steps are made from: the steps prompt's version, the criteria and the fields shown. */
function stepsKey(p: GEvalParams): string | null {
  if (!isDeepeval(p) || p.evaluation_steps?.length) return null;
  return createHash('sha256')
    .update(JSON.stringify([STEPS_VERSION, p.criteria ?? '', shownParams(p)]))
    .digest('hex');
}

async function scoreDeepeval(askJudge: AskJudge, input: ScoreInput, p: GEvalParams, tools: JudgeTools) {
  const given = p.evaluation_steps?.length ? p.evaluation_steps : undefined;
  const steps = given ?? tools.steps;
  // runJudge hands the shared steps (or makes them) whenever stepsKey asks for them.
  if (!steps) throw new Error('g_eval was run without its evaluation steps');
  const prompt = evaluationPrompt(input, p, steps);
  const [lo, hi] = p.strict_mode ? [0, 1] : rangeOf(p.rubric && sortRubric(p.rubric));
  const reply = p.strict_mode ? { text: await askJudge(prompt), logprobs: null } : await tools.askWithLogprobs(prompt, TOP_LOGPROBS);
  const parsed = parseJudgeReply(reply.text);
  const raw = scoreIn(parsed.score, lo, hi);
  // Strict mode's 0 or 1 is used as it is, as DeepEval does.
  const weighted = p.strict_mode ? null : weightedScore(raw, reply.logprobs, [lo, hi]);
  const used = weighted !== null && 'weighted' in weighted ? weighted.weighted : null;
  const score = p.strict_mode ? raw : ((used ?? raw) - lo) / (hi - lo);
  const kept = {
    scale: 'deepeval',
    raw_score: raw,
    weighted_score: used,
    logprobs_used: used !== null,
    ...(weighted && 'fallback' in weighted ? { logprobs_fallback: weighted.fallback } : {}),
    score_range: [lo, hi],
    evaluation_params: shownParams(p),
    steps,
    steps_from: given ? 'params' : 'judge',
  };
  return finish(score, p, true, kept, [text(parsed.reason)]);
}

export const gEval: JudgedMetric = {
  name: 'g_eval',
  description:
    'G-Eval as DeepEval scores it: the judge follows evaluation_steps (or steps it writes once per experiment from criteria) over the evaluation_params fields, scores 0-10, weighted by its token probabilities when the provider gives them, normalized to 0-1.',
  type: 'llm',
  require: [],
  params,
  range: [0, 1],
  higherIsBetter: true,
  requireFromParams: (p) => shownParams(p as GEvalParams).map((name) => EVALUATION_PARAMS[name].field),
  pinParams: (p) => (p.scale === undefined ? { ...p, scale: 'deepeval' } : p),
  judge: {
    ...jsonSteps(
      VERSION,
      (input, p) => (!isDeepeval(p) ? oneToFivePrompt(input, p) : p.evaluation_steps?.length ? evaluationPrompt(input, p, p.evaluation_steps) : stepsPrompt(p)),
      async (askJudge, input, p, tools) => (isDeepeval(p) ? scoreDeepeval(askJudge, input, p, tools) : oneToFiveScore(parseJudgeReply(await askJudge(oneToFivePrompt(input, p))))),
    ),
    versionOf: (p) => (!isDeepeval(p) ? ONE_TO_FIVE_VERSION : p.strict_mode ? STRICT_VERSION : VERSION),
    sharedSteps: { key: stepsKey, make: makeSteps },
  },
};
