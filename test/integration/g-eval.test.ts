/**
 * g_eval through the API and the built runner, against the stub judge: the
 * probability-weighted score when the judge returns token log-probabilities,
 * the evaluation steps written once per experiment (one runner or several)
 * and shared by every row, a judge that refuses log-probabilities, and the
 * launches refused for their params. Also the provider's fallback itself.
 */
import { jest } from '@jest/globals';
import { chatCompleteWithLogprobs, forgetLogprobRefusals } from '../../core/providers/logprobs.js';
import { claimSteps, publishSteps, releaseSteps } from '../../core/store/judge-steps.js';
import { makeDf } from '../support/api.js';
import type { StubTokenLogprob } from '../support/model-server.js';
import { expectExactRun, runnerFixtures, waitUntil } from '../support/runner.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();
const ENV = { MAX_CONCURRENT_TASKS: '8', RUNNER_WORKER_THREADS: '2' };
const STEPS = ['Check that the answer addresses the question', 'Compare it with the expected answer'];

/** The steps prompt, by what only it asks for. */
const isStepsRequest = (body: any) => /evaluation steps that put these criteria into practice/.test(String(body.messages.at(-1).content));
const isJudge = (body: any) => body.model === 'stub-judge';

/**
 * The judge's reply tokens: the score "7" comes last, with alternatives 7
 * (60%), 8 (30%), 6 (8%), "a" (1.5%, not digits) and 9 (0.5%, below 1%):
 * weighted score (7 × 0.6 + 8 × 0.3 + 6 × 0.08) / 0.98 = 7.224489795918367.
 */
const EVALUATION = '{"reason": "Addresses the question in 7 words.", "score": 7}';
function evaluationTokens(): StubTokenLogprob[] {
  const plain = (token: string): StubTokenLogprob => ({ token, logprob: 0, top_logprobs: [{ token, logprob: 0 }] });
  const ln = Math.log;
  const score: StubTokenLogprob = {
    token: '7',
    logprob: ln(0.6),
    top_logprobs: [
      { token: '7', logprob: ln(0.6) },
      { token: '8', logprob: ln(0.3) },
      { token: '6', logprob: ln(0.08) },
      { token: 'a', logprob: ln(0.015) },
      { token: '9', logprob: ln(0.005) },
    ],
  };
  // The "7" of the reason, with other alternatives: not the score.
  const early: StubTokenLogprob = { token: '7', logprob: ln(0.5), top_logprobs: [{ token: '7', logprob: ln(0.5) }, { token: '3', logprob: ln(0.5) }] };
  return [plain('{"'), plain('reason'), plain('":'), plain(' "Addresses the question in'), early, plain(' words."'), plain(', "'), plain('score'), plain('":'), plain(' '), score, plain('}')];
}
const WEIGHTED = 7.224489795918367;

function judgeBehaviour(logprobs: 'tokens' | 'refuse', latencyMs = 0) {
  fx.model.setBehaviour({
    latencyMs,
    reply: (body) => (!isJudge(body) ? `answer to: ${body.messages.at(-1).content}` : isStepsRequest(body) ? JSON.stringify({ steps: STEPS }) : EVALUATION),
    logprobs: logprobs === 'refuse' ? 'refuse' : (body) => (isStepsRequest(body) ? [] : evaluationTokens()),
  });
}

let datasets = 0;
async function launch(rows: number, criteria: string) {
  const name = `g-eval-${++datasets}`;
  expect((await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(rows) } })).status).toBe(200);
  const res = await fx.api.call('POST', '/v1/experiment', {
    body: {
      name: `exp-${name}`,
      dataset: name,
      model: { name: 'stub-model', base_url: fx.model.url },
      judge_model: 'stub-judge',
      metrics: [{ name: 'g_eval', params: { criteria, evaluation_params: ['input', 'actual_output', 'expected_output'] } }],
    },
  });
  expect(res.status).toBe(200);
  return res.body.id as number;
}

async function observations(id: number) {
  const { rows } = await fx.api.pool.query(
    `SELECT o.num_line, o.score, o.observation, o.error_msg FROM observation o JOIN result r ON r.id = o.result_id WHERE r.experiment_id = $1 ORDER BY o.num_line`,
    [id],
  );
  for (const r of rows) expect(r.error_msg).toBeNull();
  return rows;
}

/** The judge's steps requests for these criteria. */
const stepsRequests = (criteria: string) => fx.model.requests.filter((r) => isJudge(r.body) && isStepsRequest(r.body) && String(r.body.messages.at(-1).content).includes(criteria));

describe('g_eval through the runner', () => {
  it('stores the probability-weighted score ÷ 10, with steps written once and shared by every row', async () => {
    judgeBehaviour('tokens', 100);
    fx.runner(ENV);
    const criteria = 'Does the answer match the expected answer? (one runner)';
    const id = await launch(6, criteria);
    await expectExactRun(fx.api, id, 6, 60_000);

    expect(stepsRequests(criteria)).toHaveLength(1);
    const evaluations = fx.model.requests.filter((r) => isJudge(r.body) && !isStepsRequest(r.body));
    expect(evaluations).toHaveLength(6);
    for (const r of evaluations) {
      expect(r.body).toMatchObject({ logprobs: true, top_logprobs: 20 });
      expect(r.body.messages.at(-1).content).toContain(`1. ${STEPS[0]}\n2. ${STEPS[1]}`);
      expect(r.body.messages.at(-1).content).toMatch(/## Expected Output\nanswer \d/);
    }
    const rows = await observations(id);
    expect(rows).toHaveLength(6);
    for (const r of rows) {
      expect(r.score).toBeCloseTo(WEIGHTED / 10, 12);
      expect(r.observation).toMatchObject({ scale: 'deepeval', raw_score: 7, weighted_score: expect.closeTo(WEIGHTED, 12), logprobs_used: true, steps: STEPS, steps_from: 'judge', prompt_version: 'geval-2' });
    }
    // The row that wrote the steps carries that call in its usage.
    expect(rows.filter((r) => r.observation.judge_calls === 2)).toHaveLength(1);
    const stored = await fx.api.pool.query('SELECT steps FROM judge_steps WHERE experiment_id = $1', [id]);
    expect(stored.rows).toEqual([{ steps: STEPS }]);
  });

  it('writes the steps once across two runner processes', async () => {
    judgeBehaviour('tokens', 300);
    // Debug logs say which runner dispatched which model's calls.
    const runners = [fx.runner({ ...ENV, LOG_LEVEL: 'debug' }), fx.runner({ ...ENV, LOG_LEVEL: 'debug' })];
    const criteria = 'Does the answer match the expected answer? (two runners)';
    const id = await launch(40, criteria);
    await expectExactRun(fx.api, id, 40, 90_000);
    expect(stepsRequests(criteria)).toHaveLength(1);
    expect(runners.flatMap((r) => r.logs.filter((l) => l.event === 'judge_steps_claimed'))).toHaveLength(1);
    for (const r of await observations(id)) expect(r.observation.steps).toEqual(STEPS);
    // Both runners judged rows of it, with the one set of steps.
    const judged = runners.map((r) => r.logs.filter((l) => l.event === 'task_dispatched' && String(l.model).endsWith('|stub-judge')).length);
    expect(judged.every((n) => n > 0)).toBe(true);
  });

  it('judges every row by the steps stored first, when others were stored while its own were being written', async () => {
    // The judge answers a second after each request: time for "another runner" to store its steps first.
    judgeBehaviour('tokens', 1000);
    fx.runner(ENV);
    const criteria = 'Does the answer match the expected answer? (taken over)';
    const id = await launch(4, criteria);
    await waitUntil(async () => stepsRequests(criteria).length === 1, 30_000, 'the steps request');
    const claim = await waitUntil(async () => (await fx.api.pool.query('SELECT metric, inputs_hash FROM judge_steps WHERE experiment_id = $1', [id])).rows[0], 10_000, 'the claim');
    expect(await publishSteps(fx.api.pool, { experimentId: id, metric: claim.metric, hash: claim.inputs_hash }, ['Their step'])).toEqual(['Their step']);
    await expectExactRun(fx.api, id, 4, 60_000);
    expect(stepsRequests(criteria)).toHaveLength(1);
    for (const r of await observations(id)) expect(r.observation.steps).toEqual(['Their step']);
    // The row that wrote the other steps was judged again, with the stored ones.
    const evaluations = fx.model.requests.filter((r) => isJudge(r.body) && !isStepsRequest(r.body) && String(r.body.messages.at(-1).content).includes('1. Their step'));
    expect(evaluations).toHaveLength(4);
    const withOwnSteps = fx.model.requests.filter((r) => isJudge(r.body) && !isStepsRequest(r.body) && String(r.body.messages.at(-1).content).includes(`1. ${STEPS[0]}`));
    expect(withOwnSteps).toHaveLength(1);
  });

  it('scores the judge’s integer ÷ 10 with a judge that refuses log-probabilities, asking again without them', async () => {
    judgeBehaviour('refuse');
    // One task at a time: the refusal is learnt before the next call.
    fx.runner({ MAX_CONCURRENT_TASKS: '1', RUNNER_WORKER_THREADS: '1' });
    const criteria = 'Does the answer match the expected answer? (no logprobs)';
    const id = await launch(6, criteria);
    await expectExactRun(fx.api, id, 6, 60_000);
    for (const r of await observations(id)) {
      expect(r.score).toBeCloseTo(0.7, 12);
      expect(r.observation).toMatchObject({ raw_score: 7, weighted_score: null, logprobs_used: false, logprobs_fallback: 'no logprobs' });
    }
    const evaluations = fx.model.requests.filter((r) => isJudge(r.body) && !isStepsRequest(r.body));
    const refused = evaluations.filter((r) => r.status === 400);
    // The worker learns the refusal once, then asks without.
    expect(refused).toHaveLength(1);
    expect(refused[0].body).toMatchObject({ logprobs: true, top_logprobs: 20 });
    expect(evaluations.filter((r) => r.status === 200)).toHaveLength(6);
    for (const r of evaluations.filter((r) => r.status === 200)) expect(r.body).not.toHaveProperty('logprobs');
  });
});

describe('g_eval launches', () => {
  async function refused(params: Record<string, unknown>) {
    expect((await fx.api.call('POST', '/v1/dataset', { body: { name: `g-eval-bad-${++datasets}`, readme: '', df: makeDf(2) } })).status).toBe(200);
    const res = await fx.api.call('POST', '/v1/experiment', {
      body: { name: 'bad', dataset: `g-eval-bad-${datasets}`, model: { name: 'stub-model', base_url: fx.model.url }, judge_model: 'stub-judge', metrics: [{ name: 'g_eval', params }] },
    });
    expect(res.status).toBe(400);
    return JSON.stringify(res.body);
  }

  it('refuses a use with neither criteria nor evaluation_steps, and an unknown evaluation param, saying which', async () => {
    expect(await refused({ evaluation_params: ['input'] })).toMatch(/give criteria, evaluation_steps or both/);
    expect(await refused({ criteria: 'Right?', evaluation_params: ['input', 'tags'] })).toMatch(/metrics\.0\.params\.evaluation_params\.1.*unknown evaluation param/);
    const { rows } = await fx.api.pool.query(`SELECT count(*)::int AS n FROM experiment WHERE name = 'bad'`);
    expect(rows[0].n).toBe(0);
  });

  it('stores the scale a launch chose, the DeepEval one by default', async () => {
    const id = await launch(1, 'Stored scale?');
    const res = await fx.api.call('GET', `/v1/experiment/${id}?with_results=true`);
    expect(res.body.results[0].metric_params).toMatchObject({ criteria: 'Stored scale?', scale: 'deepeval' });
  });
});

describe('the stored steps', () => {
  it('are claimed by one runner at a time, taken over once its claim expires, and the first stored wins', async () => {
    const experimentId = await launch(1, 'Claims?');
    const key = { experimentId, metric: 'g_eval', hash: 'h1' };
    const db = fx.api.pool;
    expect(await claimSteps(db, key, 'runner-a', 60_000)).toEqual({ claimed: true });
    expect(await claimSteps(db, key, 'runner-b', 60_000)).toEqual({ claimed: false });
    // A gives up: B may claim at once.
    await releaseSteps(db, key, 'runner-a');
    expect(await claimSteps(db, key, 'runner-b', -1000)).toEqual({ claimed: true });
    // B's claim has expired (its runner died, say): A takes it over; both then finish, and the first stored wins.
    expect(await claimSteps(db, key, 'runner-a', 60_000)).toEqual({ claimed: true });
    expect(await publishSteps(db, key, ['from a'])).toEqual(['from a']);
    expect(await publishSteps(db, key, ['from b'])).toEqual(['from a']);
    expect(await claimSteps(db, key, 'runner-c', 60_000)).toEqual({ steps: ['from a'] });
  });
});

describe('the provider asked for log-probabilities', () => {
  afterEach(() => forgetLogprobRefusals());

  it('returns them when given, in OpenAI’s format', async () => {
    judgeBehaviour('tokens');
    const reply = await chatCompleteWithLogprobs({ name: 'stub-judge', base_url: fx.model.url }, [{ role: 'user', content: 'grade it' }], 20);
    expect(reply.logprobs?.at(-2)).toMatchObject({ token: '7', logprob: Math.log(0.6), top_logprobs: expect.arrayContaining([{ token: '8', logprob: Math.log(0.3) }]) });
  });

  it('asks again without them when the model refuses them, and remembers the model', async () => {
    judgeBehaviour('refuse');
    const model = { name: 'stub-judge', base_url: fx.model.url };
    const first = await chatCompleteWithLogprobs(model, [{ role: 'user', content: 'grade it' }], 20);
    const second = await chatCompleteWithLogprobs(model, [{ role: 'user', content: 'grade it again' }], 20);
    expect([first.answer, second.answer]).toEqual([EVALUATION, EVALUATION]);
    expect(first.logprobs).toBeNull();
    expect(fx.model.requests.map((r) => [r.status, r.body.logprobs ?? null])).toEqual([
      [400, true],
      [200, null],
      [200, null],
    ]);
  });

  it('still fails on a request error that is not about log-probabilities', async () => {
    fx.model.setBehaviour({ script: () => '400' });
    await expect(chatCompleteWithLogprobs({ name: 'stub-judge', base_url: fx.model.url }, [{ role: 'user', content: 'x' }], 20)).rejects.toThrow(/HTTP 400/);
    expect(fx.model.requests).toHaveLength(1);
  });
});
