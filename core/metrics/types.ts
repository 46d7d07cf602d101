import type { z } from 'zod';
import type { MeasuredFields } from '../answer.js';
import type { Scored } from '../observation.js';
import type { TokenLogprob } from '../providers/openai.js';

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

/** A judge's reply with its tokens' log-probabilities: null when the provider gave none (or refuses them). */
export interface ScoredReply {
  text: string;
  logprobs: TokenLogprob[] | null;
}

/** What a judge of several calls is given besides `ask`. */
export interface JudgeTools {
  /** Like `ask`, asking also for each reply token's `top` most likely alternatives with their log-probabilities. */
  askWithLogprobs(prompt: string, top: number): Promise<ScoredReply>;
  /** The evaluation steps every row of the experiment shares (see `sharedSteps`); undefined for a use that needs none. */
  steps?: string[];
}

/**
 * Evaluation steps written once by the judge and shared by every row of an
 * experiment (g_eval given criteria alone, as DeepEval writes them once per
 * metric): rows judged by different steps would not be comparable. The
 * runner makes sure one task writes them and all rows use those (runner/judge-steps.ts).
 */
export interface SharedSteps {
  /** What the steps are made from (prompt version, criteria, fields shown), hashed; null when this use needs none (steps given). */
  key(params: Record<string, any>): string | null;
  /** Asks the judge for the steps (one call); throws JudgeReplyError on a reply without any. */
  make(ask: AskJudge, params: Record<string, any>): Promise<string[]>;
}

/** What every judge has: a versioned prompt. */
interface JudgeBase {
  version: string;
  /** The version of a use's prompt, for a judge whose prompt depends on its params (g_eval's scales); `version` otherwise. */
  versionOf?(params: Record<string, any>): string;
  sharedSteps?: SharedSteps;
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
    | { run(ask: AskJudge, input: ScoreInput, params: Record<string, any>, tools: JudgeTools): Promise<JudgeScore>; read?: undefined }
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
  /**
   * The params as a launch stores them, when a default may change in a later
   * version (g_eval's scale): the default in force is written out, so a
   * stored use keeps meaning what it meant when launched. Called on params
   * the schema accepted.
   */
  pinParams?: (params: Record<string, unknown>) => Record<string, unknown>;
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
