/**
 * Evalap's judges (evalap/api/metrics/judge_*.py): the same question, of the
 * same fields, on the same scale, with no system message of their own; the
 * reply read as Evalap reads it (a bare number, kept whatever its value; our
 * JSON object too). The prompts are written for this project.
 */
import { afterThink, readScoredReply } from '../judge-reply.js';
import { noParams } from '../params.js';
import { text } from '../row-text.js';
import type { JudgedMetric, JudgeSpec, ScoreInput } from '../types.js';

const Q = ['query'] as const;
const OUT_TRUE = ['output', 'output_true'] as const;

/** The fields an Evalap judge shows, each between tags. */
const fields = (input: ScoreInput, names: [tag: string, field: keyof ScoreInput][]) => names.map(([tag, field]) => `<${tag}>\n${text(input[field])}\n</${tag}>`).join('\n\n');

const QUESTION_REFERENCE_ANSWER: [string, keyof ScoreInput][] = [['question', 'query'], ['reference_answer', 'output_true'], ['answer_to_evaluate', 'output']];

/** A judge as Evalap's: no system message of its own, the reply read as a bare number (or our JSON object). */
const evalapJudge = (version: string, prompt: (input: ScoreInput) => string): JudgeSpec => ({ version, prompt, read: (answer) => readScoredReply(answer) });

const judge = (name: string, description: string, require: readonly string[], range: [number, number], spec: JudgeSpec, higherIsBetter = true): JudgedMetric => ({
  name,
  description,
  type: 'llm',
  require,
  params: noParams,
  range,
  higherIsBetter,
  judge: spec,
});

/** The `[Note : X/N]` of a line, as Evalap reads it: 0 when absent. */
function note(line: string): number {
  const m = /\[Note : (\d+(?:\.\d+)?)\/\d+\]/.exec(line);
  return m ? Number(m[1]) : 0;
}

/**
 * judge_complexity's reply read line by line as Evalap reads it
 * (evalap/api/metrics/judge_complexity.py): each criterion's note, the
 * global note truncated to an integer as the score (0 when missing), and the
 * theme.
 */
export function readComplexity(reply: string): { score: number; observation: Record<string, unknown> } {
  const answer = afterThink(reply);
  const scores = { demande: 0, administration: 0, procedure: 0, global: 0 };
  let thematique = 'non catégorisé';
  for (const line of answer.split('\n')) {
    if (line.includes('Critère Demande :')) scores.demande = note(line);
    else if (line.includes('Critère Administration :')) scores.administration = note(line);
    else if (line.includes('Critère Procedure :')) scores.procedure = note(line);
    else if (line.includes('Score de complexité global :')) scores.global = note(line);
    else if (line.startsWith('Thématique :')) thematique = line.split(':').slice(1).join(':').trim();
  }
  return { score: Math.trunc(scores.global), observation: { scores, thematique, reply: answer.slice(0, 2000) } };
}

export const evalapJudges: readonly JudgedMetric[] = [
  judge(
    'judge_notator',
    '[1-10] A judge rates how close in meaning the output is to the expected output, given the query: 10 same meaning, 1 very different or not answering. As Evalap\'s.',
    [...Q, ...OUT_TRUE],
    [1, 10],
    evalapJudge(
      'notator-2',
      (input) =>
        `You are given a question, its correct answer (the reference), and an answer written by another agent, to be evaluated.\n\n${fields(input, QUESTION_REFERENCE_ANSWER)}\n\n` +
        'Rate how close in meaning the answer to evaluate is to the reference answer, with a score from 1 to 10:\n' +
        '- 10: the two say the same thing, or almost, even in different words.\n' +
        '- 7 to 9: very close in meaning; only small differences, or extra details in one of them.\n' +
        '- 4 to 6: some meaning in common, but clear differences or important omissions.\n' +
        '- 1 to 3: the meaning is very different, or the answer does not answer the question correctly.\n\n' +
        'Judge the overall meaning and the main information each one conveys. Different wording with the same meaning is not a fault: synonyms, paraphrases and rewordings count as equal. A shorter answer that keeps the essential information can get a high score.\n\n' +
        'Reply with the score alone, nothing else.',
    ),
  ),
  judge(
    'judge_exactness',
    '[0;1] A judge says whether the output matches the expected output (1) or not (0), given the query. As Evalap\'s.',
    [...Q, ...OUT_TRUE],
    [0, 1],
    evalapJudge(
      'exactness-2',
      (input) =>
        `You are given a question, its correct answer (the reference), and an answer written by another agent, to be evaluated.\n\n${fields(input, QUESTION_REFERENCE_ANSWER)}\n\n` +
        'Does the answer to evaluate match the reference answer, that is, is it similar to the correct answer? Reply 1 if it does, 0 if it does not.\n' +
        'Reply with 1 or 0 alone, nothing else.',
    ),
  ),
  judge(
    'judge_precision',
    '[0;1] A judge says whether the expected output is contained in the output (1) or not (0), given the query. As Evalap\'s.',
    [...Q, ...OUT_TRUE],
    [0, 1],
    evalapJudge(
      'precision-2',
      (input) =>
        `You are given a question, the expected answer, and another answer to be evaluated.\n\n${fields(input, [['question', 'query'], ['expected_answer', 'output_true'], ['answer_to_evaluate', 'output']])}\n\n` +
        'Is the expected answer contained in the answer to evaluate? Reply 1 if it is, 0 if it is not.\n' +
        'Reply with 1 or 0 alone, nothing else.',
    ),
  ),
  judge(
    'judge_completude',
    '[0-100] A judge rates how much of the expected output the output covers. As Evalap\'s: the query is not used.',
    OUT_TRUE,
    [0, 100],
    evalapJudge(
      'completude-2',
      (input) =>
        'You compare two texts to tell how close the second one is to the first in what it means to say. The first is the ground truth; the second is an answer written by another language model.\n\n' +
        `${fields(input, [['ground_truth', 'output_true'], ['answer', 'output']])}\n\n` +
        'Give a completeness score from 0 to 100: how much of the ground truth the answer covers. Weigh, for yourself, briefly and precisely, in which ways the answer is or is not similar to the ground truth, but do not write that reasoning down.\n' +
        'Do not write a % sign. Reply with the number alone, nothing else.',
    ),
  ),
  judge(
    'judge_rambling',
    '[1-10] A judge rates how much of the output is irrelevant or off topic, given the query and the expected output: 1 none, 10 mostly (lower is better). As Evalap\'s.',
    [...Q, ...OUT_TRUE],
    [1, 10],
    evalapJudge(
      'rambling-2',
      (input) =>
        `You are given a question, a reference answer, and an answer written by another agent. Assess how much the other agent's answer RAMBLES: content that is irrelevant to the question or off topic.\n\n${fields(input, QUESTION_REFERENCE_ANSWER)}\n\n` +
        'Steps:\n1. Find the content of the answer to evaluate that is not directly about the question or brings no essential information.\n2. Estimate which share of the answer that content makes up.\n3. Score the rambling from 1 to 10: 1 means no rambling at all, every part is relevant; 10 means mostly rambling, with little relevant content.\n\n' +
        'Reply with the score alone, nothing else.',
    ),
    false,
  ),
  // Evalap's dataset judge: how complex an administrative request is, from the query alone.
  judge(
    'judge_complexity',
    '[0-10] A judge rates how complex an administrative request (the query) is to handle: its clarity, how many administrations it involves, how complex its procedures are (higher is more complex), and names its theme. As Evalap\'s: only the query is used.',
    Q,
    [0, 10],
    {
      version: 'complexity-1',
      prompt: (input) =>
        `You analyse an administrative request and how complex it is to handle.\n\n<request>\n${text(input.query)}\n</request>\n\n` +
        'Rate it on three criteria, each from 1 (simplest) to 5 (most complex), each with a short explanation (one or two sentences):\n' +
        '1. Demande: is the request clear and precise, about a single subject?\n' +
        '2. Administration: does it concern a single administration (the CAF, for example) or several at once?\n' +
        '3. Procedure: is the answer simple and found in one source, or does it take complex procedures and several sources?\n' +
        'Then score its overall complexity from 0 to 10 (higher is more complex; 0 if you cannot tell, never leave a score empty), ' +
        'recommend briefly how to handle the request, and name its main theme among CAF, ANTS, CPAM, CARSAT - MSA, IMPOTS and the like ("non catégorisé" if none fits).\n\n' +
        'Answer in exactly this format, one item per line, keeping the labels as written:\n' +
        'Critère Demande : [explanation] [Note : X/5]\n' +
        'Critère Administration : [explanation] [Note : X/5]\n' +
        'Critère Procedure : [explanation] [Note : X/5]\n' +
        'Score de complexité global : [explanation] [Note : X/10]\n' +
        'Recommandation : [recommendation]\n' +
        'Thématique : [theme]',
      read: (reply) => readComplexity(reply),
    },
    false,
  ),
  judge(
    'judge_relevant',
    '[1-10] A judge rates how many of the essential elements of the expected output the output contains, given the query: 10 all, 1 none. As Evalap\'s.',
    [...Q, ...OUT_TRUE],
    [1, 10],
    evalapJudge(
      'relevant-2',
      (input) =>
        `You are given a question, a reference answer, and an answer written by another agent. Assess the RELEVANCE of the other agent's answer: whether it has the essential elements of the reference answer.\n\n${fields(input, QUESTION_REFERENCE_ANSWER)}\n\n` +
        'Steps:\n1. List the essential elements of the reference answer.\n2. Check which of them the answer to evaluate contains.\n3. Score its relevance from 1 to 10: 10 means every essential element is there, 1 means none is.\n\n' +
        'Reply with the score alone, nothing else.',
    ),
  ),
];
