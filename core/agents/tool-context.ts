/**
 * What an answer's tool results give its metrics, as Evalap derives it:
 * `context` is each tool result; `retrieval_context` its chunks, split on
 * "\n---\n", only when some result did split (otherwise the chunks would
 * just repeat the context). Failed calls are left out: an error message is
 * not something the model retrieved, and would count against faithfulness.
 */
import type { ToolStep } from '../answer.js';

export const CHUNK_SEPARATOR = '\n---\n';

export function toolContext(steps: readonly ToolStep[][]): { context: string[] | null; retrieval_context: string[] | null } {
  const context = steps.flatMap((turn) => turn.filter((s) => !s.is_error).map((s) => s.tool_result));
  if (!context.length) return { context: null, retrieval_context: null };
  const chunks = context.flatMap((c) => c.split(CHUNK_SEPARATOR));
  return { context, retrieval_context: chunks.length === context.length ? null : chunks };
}
