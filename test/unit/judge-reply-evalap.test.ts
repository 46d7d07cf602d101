/**
 * Judge replies read as Evalap reads them. Every expected value below was
 * worked out by hand from Evalap's code: evalap/api/metrics/judge_notator.py
 * (and the other judge_*.py and adhoc_judge.py, identical on this point) does
 *   think, answer = split_think_answer(reply)   # evalap/clients/llm.py
 *   score = float(answer.strip(" \n\"'.%"))      # None on ValueError
 * and split_think_answer keeps what follows the first "</think>" (any case),
 * else the first "[/think]", stripped.
 */
import { afterThink, evalapScore, JudgeReplyError, readScore } from '../../core/metrics/judge-reply.js';

describe('evalapScore reads what float(answer.strip(" \\n\\"\'.%")) reads', () => {
  it.each([
    ['1', 1],
    ['4.5', 4.5],
    [' 7 \n', 7],
    ["'8'", 8],
    ['"8"', 8],
    ['75%', 75],
    ['4.', 4], // the trailing dot is stripped
    ['.5', 5], // so is a leading one: ".5".strip(".") == "5"
    ['0.5', 0.5],
    ['-.5', -0.5], // "-" is not stripped, and float("-.5") == -0.5
    ['+3', 3],
    ['-3', -3],
    ['11', 11], // out of any judge's scale, kept as is
    ['1e1', 10],
    ['2E-1', 0.2],
    ['1_0', 10], // float() accepts underscores between digits
    ['\t7\t', 7], // strip() leaves tabs; float() ignores surrounding whitespace
    ['7\r\n', 7],
    ['"75%".', 75],
  ])('%j → %d', (answer, score) => {
    expect(evalapScore(answer)).toBe(score);
  });

  it.each([
    ['Note: 7'],
    ['7/10'],
    ['8 9'],
    [''],
    ['1,5'], // float() takes no decimal comma
    ['1__0'],
    ['_1'],
    ['0x10'],
    ['{"score": 7}'],
  ])('%j → no score, as float() raises ValueError', (answer) => {
    expect(evalapScore(answer)).toBeNull();
  });

  it('refuses inf and nan, which float() reads but no score can hold (a stated deviation)', () => {
    expect(evalapScore('inf')).toBeNull();
    expect(evalapScore('nan')).toBeNull();
  });
});

describe('afterThink splits like split_think_answer', () => {
  it.each([
    ['<think>maybe 3</think>\n8', '8'],
    ['Reasoning...</THINK>  5 ', '5'], // re.IGNORECASE
    ['I think [/think] 6', '6'],
    ['a</think>b</think>c', 'b</think>c'], // up to the first one only
    ['  plain 7  ', 'plain 7'],
  ])('%j → %j', (reply, answer) => {
    expect(afterThink(reply)).toBe(answer);
  });
});

describe('readScore accepts every reply Evalap accepts, and our JSON object', () => {
  it('reads a bare number after a think block', () => {
    expect(readScore('<think>weighing: 3 or 4?</think>\n4.5')).toEqual({ score: 4.5 });
  });

  it('reads our JSON object with its reason when the reply is not a bare number', () => {
    expect(readScore('```json\n{"reason": "close", "score": 8}\n```')).toEqual({ score: 8, reason: 'close' });
  });

  it('refuses a reply that is neither', () => {
    expect(() => readScore('The answer deserves a good grade.')).toThrow(JudgeReplyError);
  });
});
