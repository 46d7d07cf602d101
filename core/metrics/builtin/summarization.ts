/**
 * summarization, as DeepEval v3.5.9 scores it: `query` is the original text,
 * `output` its summary, and the score is the lower of two:
 * - alignment: the summary's claims judged against the original (yes, no,
 *   idk); the "yes" over all of them, so unsupported filler counts against
 *   it (0 with no claim). With `truths_extraction_limit`, the claims are
 *   judged against that many facts drawn from the original first.
 * - coverage: closed questions the original answers "yes" to (the judge
 *   writes `n` of them unless `assessment_questions` are given), answered
 *   once from the original and once from the summary, each call seeing one
 *   text; the questions both answer over those the original answers (0 with
 *   none).
 * strict_mode applies to each, as DeepEval; the observation keeps both in
 * `score_breakdown` with every step's output.
 */
import { z } from 'zod';
import { ask, jsonSteps, numbered } from '../judge-prompt.js';
import { JudgeReplyError, parseJudgeReply, strings, verdicts, yesNo } from '../judge-reply.js';
import { text } from '../row-text.js';
import type { AskJudge, JudgedMetric, ScoreInput } from '../types.js';
import { countCheck, deepevalParams, finish, reasonsOf, share, strictScore, truthsLimit, type DeepevalParams } from './deepeval-score.js';
import { extractTruths } from './truths.js';

interface SummarizationParams extends DeepevalParams {
  assessment_questions?: string[];
  n?: number;
  truths_extraction_limit?: number;
}

const alignmentPrompt = (original: string, summary: string, truths?: string[]) =>
  ask(
    'List the factual claims the summary makes. For each, compare it with the ' +
      (truths ? 'facts from the original text' : 'original text') +
      ': "no" only when they directly contradict it; "idk" when they do not mention it; "yes" when they support it. ' +
      'Judge from them alone, never from what you know; hedged wording ("may have", "possibly") is no contradiction. Give a reason for each "no" and "idk", correcting the claim from the original where you can.',
    [truths ? ['Facts from the original text', numbered(truths)] : ['Original text', original], ['Summary', summary]],
    '{"claims": [{"claim": "<text>", "verdict": "yes" | "no" | "idk", "reason": "<short>"}]}',
  );

const questionsPrompt = (original: string, n: number) =>
  ask(
    `Write ${n} closed questions about the text below, each answered "yes" by the text itself. Only questions that can be answered yes or no.`,
    [['Text', original]],
    '{"questions": ["<question>"]}',
  );

const answersPrompt = (questions: string[], source: string) =>
  ask(
    'For each numbered question, in order, say whether the text below holds enough information to answer it ("yes") or not ("no"). Judge from the text alone. Give exactly one answer per question.',
    [['Text', source], ['Questions', numbered(questions)]],
    '{"answers": ["yes" | "no"]}',
  );

async function alignment(askJudge: AskJudge, input: ScoreInput, params: SummarizationParams) {
  const original = text(input.query);
  const truths = params.truths_extraction_limit === undefined ? undefined : await extractTruths(askJudge, original, params.truths_extraction_limit);
  const items = verdicts(parseJudgeReply(await askJudge(alignmentPrompt(original, input.output, truths))), 'claims');
  return { truths, items, score: share(items, (v) => v === 'yes', 0) };
}

async function coverage(askJudge: AskJudge, input: ScoreInput, params: SummarizationParams) {
  const original = text(input.query);
  const given = params.assessment_questions?.length ? params.assessment_questions : undefined;
  const questions = given ?? strings(parseJudgeReply(await askJudge(questionsPrompt(original, params.n ?? 5))), 'questions');
  const fromOriginal = yesNo(parseJudgeReply(await askJudge(answersPrompt(questions, original))), 'answers');
  const fromSummary = yesNo(parseJudgeReply(await askJudge(answersPrompt(questions, input.output))), 'answers');
  // As DeepEval: answers that cannot be paired fail the row; fewer than the questions are scored as they are.
  if (fromOriginal.length !== fromSummary.length) throw new JudgeReplyError(`the judge answered ${fromOriginal.length} questions from the original and ${fromSummary.length} from the summary`);
  if (fromOriginal.length > questions.length) throw new JudgeReplyError(`the judge gave ${fromOriginal.length} answers to ${questions.length} questions`);
  const verdictsOf = fromOriginal.map((o, i) => ({ question: questions[i], original_verdict: o, summary_verdict: fromSummary[i] }));
  const answerable = verdictsOf.filter((v) => v.original_verdict === 'yes');
  const score = answerable.length ? answerable.filter((v) => v.summary_verdict === 'yes').length / answerable.length : 0;
  return { questions, verdicts: verdictsOf, score, mismatches: countCheck('questions', questions.length, fromOriginal.length) };
}

export const summarization: JudgedMetric = {
  name: 'summarization',
  description: 'How well the output summarizes the query: the lower of alignment (claims the original supports) and coverage (its questions the summary answers).',
  type: 'rag',
  require: ['query', 'output'],
  params: deepevalParams({
    assessment_questions: z.array(z.string().min(1)).max(100).optional(),
    n: z.number().int().min(1).max(50).optional(),
    truths_extraction_limit: truthsLimit,
  }),
  range: [0, 1],
  higherIsBetter: true,
  judge: jsonSteps(
    'summarization-1',
    (input) => alignmentPrompt(text(input.query), input.output),
    async (askJudge, input, params: SummarizationParams) => {
      // One call after the other: the task holds one slot of the judge's limiter.
      const a = await alignment(askJudge, input, params);
      const c = await coverage(askJudge, input, params);
      const breakdown = { Alignment: strictScore(a.score, params, true), Coverage: strictScore(c.score, params, true) };
      const missed = c.verdicts.filter((v) => v.original_verdict === 'yes' && v.summary_verdict === 'no').map((v) => `the summary does not answer "${v.question}"`);
      return finish(
        Math.min(breakdown.Alignment, breakdown.Coverage),
        params,
        true,
        { score_breakdown: breakdown, ...(a.truths ? { truths: a.truths } : {}), claims: a.items, assessment_questions: c.questions, coverage_verdicts: c.verdicts },
        [...reasonsOf(a.items, (v) => v !== 'yes'), ...missed],
        c.mismatches,
      );
    },
  ),
};
