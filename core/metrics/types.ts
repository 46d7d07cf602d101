import type { z } from 'zod';

/** What a metric is made of, as `GET /v1/metrics` lists it. */
export const MetricType = {
  /** Computed from the answer and the row alone. */
  deterministic: 'deterministic',
  /** Read from the generation's own measurements (time, tokens, tool calls). */
  ops: 'ops',
  /** Scored by a judge model. */
  llm: 'llm',
  /** Retrieval-augmented-generation metrics, scored by a judge model over contexts. */
  rag: 'rag',
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** Fields a metric can need. `output`, `context`, `retrieval_context`,
 *  `think` come from the answer; the others from the dataset row. */
export const ANSWER_FIELDS = ['output', 'context', 'retrieval_context', 'think'] as const;

export interface MetricDefinition {
  name: string;
  description: string;
  type: MetricType;
  /** Fields the metric reads. */
  require: readonly string[];
  /** Schema of `params`; `.strict()` so a misspelt param is an error. */
  params: z.ZodType;
  /** Score range, and which way is better. */
  range: readonly [number, number];
  higherIsBetter: boolean;
  /** For templated metrics: the fields the given params make it need. */
  requireFromParams?: (params: Record<string, unknown>) => string[];
}
