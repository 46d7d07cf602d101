/**
 * Building blocks of the judges that ask for a JSON object (g_eval, the RAG
 * and safety judges): one system message, the prompt in titled sections, the
 * reply parsed leniently (judge-reply.ts).
 */
import { parseJudgeReply } from './judge-reply.js';
import type { JudgeSpec, ScoreInput } from './types.js';

const JSON_SYSTEM = 'You are a strict and impartial evaluator of answers written by an AI assistant. You reply with one JSON object and nothing else.';

/** Items numbered from 1, one a line, or "(none)". */
export const numbered = (items: string[]) => (items.length ? items.map((c, i) => `[${i + 1}] ${c}`).join('\n') : '(none)');

/** The instructions, then each section under its title, then the JSON object to reply with. */
export function ask(instructions: string, sections: [string, string][], format: string): string {
  const body = sections.map(([title, value]) => `## ${title}\n${value}`).join('\n\n');
  return `${instructions}\n\n${body}\n\nReply with this JSON object only: ${format}`;
}

/** A judge of several calls, each replying with one JSON object, made and scored by `run`. */
export function jsonSteps(version: string, prompt: JudgeSpec['prompt'], run: NonNullable<JudgeSpec['run']>): JudgeSpec {
  return { version, system: JSON_SYSTEM, prompt, run };
}

/** A judge replying with one JSON object, read by `read`. */
export function jsonJudge(
  version: string,
  prompt: JudgeSpec['prompt'],
  read: (reply: Record<string, unknown>, input: ScoreInput, params: Record<string, any>) => { score: number; observation: Record<string, unknown> },
): JudgeSpec {
  return { version, system: JSON_SYSTEM, prompt, read: (answer, input, params) => read(parseJudgeReply(answer), input, params) };
}
