/**
 * The one shape of a model's answer to a dataset row, followed from the model
 * call (core/providers/openai.ts) over the bus (runner/protocol.ts) into the
 * `answer` table (core/store) and on to the metrics (core/metrics/types.ts).
 *
 * Derived from the API's Answer schema (core/schemas.ts), the shape clients
 * read back: that schema is the contract, so a field added there shows up
 * here, and the store and the runner carry it or fail to type-check. Two
 * deliberate differences from the API's view: execution_time is kept in
 * milliseconds (the API shows seconds), and the jsonb columns (context,
 * retrieval_context, emission_carbon) hold whatever JSON was committed, which
 * the store does not check (bring-your-own lists of strings, the runner's
 * null, core/eco's record).
 */
import type { z } from 'zod';
import type { Answer as AnswerSchema } from './schemas.js';

type ApiAnswer = z.infer<typeof AnswerSchema>;

/** An answer row as the runner reads it: a failure has `answer` null and `error_msg` set. */
export type AnswerRecord = Pick<ApiAnswer, 'answer' | 'think' | 'nb_tokens_prompt' | 'nb_tokens_completion' | 'nb_tool_calls' | 'tool_steps' | 'execution_time' | 'error_msg'> & {
  /**
   * Of the prompt tokens, those the provider served from its cache (null: not
   * reported). Optional: it is priced from the store, never read back by the
   * runner, and answers not made by a provider call have none.
   */
  nb_tokens_cached?: ApiAnswer['nb_tokens_cached'];
  context: unknown;
  retrieval_context: unknown;
  /** The generation's energy and carbon (core/eco/emission.ts), read by energy_consumption and gwp_consumption. */
  emission_carbon: unknown;
};

/** The fields of an answer other than its text and its failure. */
type AnswerDetails = Omit<AnswerRecord, 'answer' | 'error_msg'>;

/** A successful answer, as a worker is handed it and sends it back. */
export type AnswerFields = { answer: string } & Omit<AnswerDetails, 'emission_carbon'> & {
  /** Absent only where no model call was made to measure. */
  emission_carbon?: unknown;
};

/** One tool call of a model turn (Evalap's shape, plus its time and failure). */
export type ToolStep = NonNullable<ApiAnswer['tool_steps']>[number][number];

/** What one chat-completions call returns: the answer and what the provider measured of it. */
export type GeneratedAnswer = Pick<AnswerFields, 'answer' | 'think' | 'nb_tokens_prompt' | 'nb_tokens_completion' | 'nb_tokens_cached' | 'nb_tool_calls'> & {
  /** ms, integer: request sent to response body read; always measured. */
  execution_time: number;
};

/** An answer in its terminal state, as committed (core/store/outcomes.ts): a failure carries only its error. */
export type AnswerCommit = Pick<AnswerRecord, 'answer' | 'error_msg'> & Partial<AnswerDetails>;

/** A bring-your-own answer as the API receives it per row (ModelRaw's lists), before it is stored. */
export type ProvidedAnswer = Pick<AnswerFields, 'answer'> & Partial<Omit<AnswerDetails, 'emission_carbon'>>;

/** The answer fields a metric may read besides the text (which metrics see as `output`). */
export type MeasuredFields = Partial<Pick<AnswerRecord, 'think' | 'execution_time' | 'nb_tokens_prompt' | 'nb_tokens_completion' | 'nb_tool_calls'>>;

/** Adds a call's token count to a running sum over several calls; null while no call has given one. */
export const addTokenCount = (sum: number | null, count: number | null | undefined): number | null => (count == null ? sum : (sum ?? 0) + count);
