/**
 * judge_adhoc's prompt: rendered as Jinja renders what it supports, refused
 * at launch (a 400 naming the metric's params.prompt) for what it does not,
 * never sent with holes. Evalap renders it with Jinja2
 * (evalap/api/metrics/adhoc_judge.py, evalap/utils.py render_jinja) and adds
 * nothing to it.
 */
import { adhocTemplateProblem, renderAdhoc, templateVariables } from '../../core/metrics/builtin/judge-adhoc.js';
import { judgeOf, runJudge } from '../../core/metrics/judges.js';
import { checkMetrics } from '../../core/metrics/requirements.js';
import { ValidationError } from '../../core/errors.js';
import type { ChatAnswer } from '../../core/providers/openai.js';

const row = { query: 'Q?', output: 'A.', meta: { lang: 'fr', tags: ['x', 'y'] }, flag: true, n: 3, missing: null };

describe('renderAdhoc', () => {
  it('renders variables, keys and indexes as Jinja prints them', () => {
    expect(renderAdhoc('{{query}} / {{ output }} / {{ meta.lang }} / {{ meta["tags"][1] }} / {{ meta.tags[0] }} / {{flag}} / {{n}}', row)).toBe('Q? / A. / fr / y / x / True / 3');
  });

  it('prints a missing key or value as nothing, as Jinja prints an undefined', () => {
    expect(renderAdhoc('[{{ meta.nope }}][{{ missing }}][{{ meta.tags[9] }}]', row)).toBe('[][][]');
  });

  it('drops {# comments #}, as Jinja does', () => {
    expect(renderAdhoc('a{# a note #}b {{query}}', row)).toBe('ab Q?');
  });

  it('prints a list or object column as JSON', () => {
    expect(renderAdhoc('{{meta}}', row)).toBe('{"lang":"fr","tags":["x","y"]}');
  });

  it('leaves a prompt without variables as it is', () => {
    expect(renderAdhoc('Reply 1 if the sky is blue.', row)).toBe('Reply 1 if the sky is blue.');
  });
});

describe('adhocTemplateProblem', () => {
  it.each([['{{ output | upper }}'], ['{% if query %}yes{% endif %}'], ['{{ output ~ query }}'], ['{{ "text" }}'], ['an unclosed {{ output'], ['{{ f(output) }}']])('refuses %j, quoting it', (template) => {
    expect(adhocTemplateProblem(template)).toMatch(/^cannot render ".*": the prompt may use \{\{ variable \}\}/);
  });

  it('accepts what it renders', () => {
    expect(adhocTemplateProblem('Plain text, {{ query }}, {{ meta.lang }}, {{meta["tags"][0]}} {# note #}')).toBeNull();
  });
});

describe('templateVariables', () => {
  it("names each expression's variable once: the fields the metric requires", () => {
    expect(templateVariables('{{query}} {{ meta.lang }} {{meta["tags"][0]}} {{ query }}')).toEqual(['query', 'meta']);
    expect(templateVariables('no variables here')).toEqual([]);
  });
});

describe('judge_adhoc at launch', () => {
  const ctx = { columns: new Set(['query', 'output_true']), path: 'metrics' };

  it('accepts a prompt without {{variables}}, requiring nothing', () => {
    expect(checkMetrics([{ name: 'judge_adhoc', params: { prompt: 'Reply 1.' } }], ctx)).toEqual([{ name: 'judge_adhoc', params: { prompt: 'Reply 1.' }, aliasedName: 'judge_adhoc' }]);
  });

  it('refuses a Jinja filter with a 400 naming params.prompt', () => {
    let error: unknown;
    try {
      checkMetrics([{ name: 'judge_adhoc', params: { prompt: 'Grade {{ output | trim }}' } }], ctx);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).status).toBe(400);
    expect((error as ValidationError).issues).toEqual([{ path: 'metrics.0.params.prompt', message: expect.stringMatching(/^metric judge_adhoc: cannot render "\{\{ output \| trim \}\}"/) }]);
  });

  it('requires the column an attribute reads from', () => {
    expect(() => checkMetrics([{ name: 'judge_adhoc', params: { prompt: '{{ meta.lang }}' } }], ctx)).toThrow(ValidationError);
  });
});

describe('judge_adhoc prompt and reply', () => {
  const reply = (answer: string): ChatAnswer => ({ answer, think: null, nb_tokens_prompt: 1, nb_tokens_completion: 1, nb_tool_calls: null, execution_time: 1 });
  const run = (answer: string, params: Record<string, unknown>) => runJudge('judge_adhoc', params, row, { name: 'j', base_url: 'http://j.invalid' }, async () => reply(answer));

  it('is the rendered template alone when no scale is set', () => {
    expect(judgeOf('judge_adhoc')!.prompt(row, { prompt: 'Is {{output}} right?' })).toBe('Is A. right?');
  });

  it('reads a bare number as the score, whatever its value when no scale is set', async () => {
    expect(await run('4.5', { prompt: 'Grade {{output}}' })).toMatchObject({ score: 4.5 });
    expect(await run('42', { prompt: 'Grade {{output}}' })).toMatchObject({ score: 42 });
  });

  it('asks for the scale when one is set, and records a score outside it as an error', async () => {
    expect(judgeOf('judge_adhoc')!.prompt(row, { prompt: 'Grade {{output}}', scale: [1, 5] })).toBe('Grade A.\n\nReply with a score from 1 to 5 alone, nothing else.');
    expect(await run('7', { prompt: 'Grade {{output}}', scale: [1, 5] })).toMatchObject({ error: "the judge's score 7 is outside 1–5" });
  });

  it('records an error, without calling the judge, for a template stored before templates were checked', async () => {
    let calls = 0;
    const out = await runJudge('judge_adhoc', { prompt: '{{ output | upper }}' }, row, { name: 'j', base_url: 'http://j.invalid' }, async () => {
      calls++;
      return reply('1');
    });
    expect(out).toMatchObject({ error: expect.stringMatching(/^metric judge_adhoc: cannot render/) });
    expect(calls).toBe(0);
  });
});
