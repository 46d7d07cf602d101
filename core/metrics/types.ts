import type { z } from 'zod';
import type { MeasuredFields } from '../answer.js';
import type { Scored } from '../observation.js';

/**
 * What a metric is made of, as `GET /v1/metrics` lists it: `deterministic`,
 * computed from the answer and the row alone; `ops`, read from the
 * generation's own measurements (time, tokens, tool calls); `llm`, scored by
 * a judge model; `rag`, retrieval-augmented-generation metrics, scored by a
 * judge model over contexts.
 */
type MetricType = 'deterministic' | 'ops' | 'llm' | 'rag';

/** Fields a metric can need. `output`, `context`, `retrieval_context`,
 *  `think` come from the answer; the others from the dataset row. */
export const ANSWER_FIELDS = ['output', 'context', 'retrieval_context', 'think'] as const;

/** What a metric sees of one row: the answer and the dataset fields (after columns_map). */
export interface ScoreInput extends MeasuredFields {
  /** The answer's text (core/answer.ts). */
  output: string;
  output_true?: unknown;
  query?: unknown;
  /** From the answer when it has them, else the dataset's columns of these names: any JSON. */
  context?: unknown;
  retrieval_context?: unknown;
  [column: string]: unknown;
}

/** A scorer's result: a score (null when the row has none) with what it observed, or an error recorded on the observation. */
export type ScoreOutcome = Scored | { error: string };

/** A judge's score with what to keep of its replies. */
export interface JudgeScore {
  score: number;
  observation: Record<string, unknown>;
}

/** Sends one prompt to the judge model (with the judge's system message) and gives back its reply text. */
export type AskJudge = (prompt: string) => Promise<string>;

/** What every judge has: a versioned prompt. */
interface JudgeBase {
  version: string;
  /** The system message when the judge model has no system_prompt; Evalap's judges send none. */
  system?: string;
  /** The user message (of the first call, for a judge of several calls). */
  prompt(input: ScoreInput, params: Record<string, any>): string;
}

/**
 * A judge: a versioned prompt and the rule turning the judge's reply into a
 * score (`read`), or, for a judge of several calls (DeepEval's steps: truths
 * then verdicts, one call per retrieval chunk), `run`, which makes them in
 * turn with `ask` and scores the replies. Both throw JudgeReplyError on a
 * reply they cannot use.
 */
export type JudgeSpec = JudgeBase &
  (
    | { read(answer: string, input: ScoreInput, params: Record<string, any>): JudgeScore; run?: undefined }
    | { run(ask: AskJudge, input: ScoreInput, params: Record<string, any>): Promise<JudgeScore>; read?: undefined }
  );

/** What every metric declares: what `GET /v1/metrics` lists and launches are checked against. */
interface MetricBase {
  name: string;
  description: string;
  /** Fields the metric reads. */
  require: readonly string[];
  /** Schema of `params`; `.strict()` so a misspelt param is an error. */
  params: z.ZodType;
  /** Score range, and which way is better. */
  range: readonly [number, number];
  higherIsBetter: boolean;
  /** For templated metrics: the fields the given params make it need. */
  requireFromParams?: (params: Record<string, unknown>) => string[];
  /** Why no launch can use the metric, for one listed (as Evalap lists it) that this version cannot score. */
  unavailable?: string;
}

/**
 * A metric computed with no model call, in the task that produced (or read)
 * the answer. `score` never throws on what a model wrote: bad input is a
 * recorded error on its observation.
 */
export interface InlineMetric extends MetricBase {
  type: Extract<MetricType, 'deterministic' | 'ops'>;
  score(input: ScoreInput, params: Record<string, any>): ScoreOutcome;
  /** For a metric whose corpus-level score is not the mean of its rows': that score, from the element-wise sum of the rows' `corpus_stats`. */
  corpusScore?(stats: number[], params: Record<string, unknown> | null): number;
}

/** A metric scored by one call to the judge model. */
export interface JudgedMetric extends MetricBase {
  type: Extract<MetricType, 'llm' | 'rag'>;
  judge: JudgeSpec;
}

/** A metric plug-in: its definition and its scorer, in one value (see registry.ts). */
export type Metric = InlineMetric | JudgedMetric;
