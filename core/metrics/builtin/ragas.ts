/**
 * ragas, listed as Evalap lists it (DeepEval's RagasMetric: the mean of five
 * RAGAS scores) so that GET /v1/metrics shows every metric Evalap has, but
 * refused at launch with a 400 saying why. One of the five, RAGAS's answer
 * relevancy, compares embeddings of questions the judge writes with the
 * query, and no embedding model is configured here; Evalap's own run of it
 * fails too (its judge is no LangChain model, and its guide marks ragas as
 * unsupported). The other four have DeepEval counterparts listed here.
 */
import { z } from 'zod';
import { JudgeReplyError } from '../judge-reply.js';
import type { JudgedMetric } from '../types.js';

const WHY =
  'ragas is listed as Evalap lists it but cannot be scored here: one of its five scores (answer relevancy) needs an embedding model. Use contextual_precision, contextual_recall, faithfulness and answer_relevancy, which DeepEval scores alike';

export const ragas: JudgedMetric = {
  name: 'ragas',
  description: `The mean of five RAGAS scores (DeepEval's RagasMetric). Not available: launches using it are refused.`,
  type: 'rag',
  require: ['output_true', 'query', 'retrieval_context'],
  params: z.object({ threshold: z.number().min(0).max(1).optional(), embeddings: z.unknown().optional() }).strict(),
  range: [0, 1],
  higherIsBetter: true,
  unavailable: WHY,
  judge: {
    version: 'ragas-0',
    prompt: () => WHY,
    // Launches refuse it; an observation that reaches here anyway fails with the same reason, without a call.
    run: async () => {
      throw new JudgeReplyError(WHY);
    },
  },
};
