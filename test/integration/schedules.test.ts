import { jest } from '@jest/globals';
import { tick } from '../../core/schedules/tick.js';
import { tQuantile } from '../../core/stats.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { startRunner, waitUntil, type RunningRunner } from '../support/runner.js';

jest.setTimeout(90_000);

let api: TestApi;
let runner: RunningRunner;
beforeAll(async () => {
  api = await startApi();
  runner = startRunner(api);
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'sched', readme: '', df: makeDf(4) } })).status).toBe(200);
});
afterAll(async () => {
  runner.kill();
  await runner.exited;
  await api.close();
});

const template = (outputs: string[]) => ({ experiments: [{ name: 'nightly', dataset: 'sched', model: { aliased_name: 'm', output: outputs }, metrics: ['exact_match'] }] });
const finished = (setId: number) =>
  waitUntil(async () => (await api.call('GET', `/v1/experiment_set/${setId}`)).body.status === 'finished', 30_000, `set ${setId} to finish`);

describe('schedule routes', () => {
  it('creates, lists, pauses and deletes a schedule, with its next firing time', async () => {
    const res = await api.call('POST', '/v1/schedule', { body: { name: 'crud', cron: '0 3 * * *', timezone: 'Europe/Paris', template: template(['answer 0', 'x', 'x', 'x']) } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'crud', cron: '0 3 * * *', timezone: 'Europe/Paris', paused: false, runs: [] });
    expect(res.body.next_fire_at).toMatch(/T0[12]:00:00.000Z$/);
    expect((await api.call('GET', '/v1/schedules')).body.map((s: { name: string }) => s.name)).toContain('crud');
    const paused = await api.call('PATCH', `/v1/schedule/${res.body.id}`, { body: { paused: true } });
    expect(paused.body).toMatchObject({ paused: true, next_fire_at: null });
    expect((await api.call('DELETE', `/v1/schedule/${res.body.id}`)).status).toBe(200);
    expect((await api.call('GET', `/v1/schedule/${res.body.id}`)).status).toBe(404);
  });

  it.each([
    ['a bad cron expression', { cron: '61 * * * *' }, /cron: minute: "61"/],
    ['an unknown time zone', { timezone: 'Nowhere/City' }, /timezone: "Nowhere\/City" is not an IANA time zone/],
    ['a template that is not a set body', { template: { experiments: [{ name: 'x' }] } }, /template.experiments.0.dataset/],
    ['a template that would launch nothing', { template: { experiments: [] } }, /template.experiments: a schedule's template must have experiments or a cv grid/],
  ])('refuses %s with a 400, writing nothing', async (_name, over, detail) => {
    const before = await api.footprint();
    const res = await api.call('POST', '/v1/schedule', { body: { name: 'bad', cron: '0 3 * * *', template: template(['a', 'b', 'c', 'd']), ...over } });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(detail);
    expect(await api.footprint()).toEqual(before);
  });
});

describe('provider keys in templates', () => {
  it('stores them sealed, never returns them, and still launches with them', async () => {
    const key = 'sk-schedule-secret-0123456789';
    const body = { name: 'keyed', cron: '0 3 * * *', template: { experiments: [{ name: 'k', dataset: 'sched', model: { name: 'm', base_url: 'http://127.0.0.1:9/v1', api_key: key }, metrics: ['exact_match'] }] } };
    const created = await api.call('POST', '/v1/schedule', { body });
    expect(created.status).toBe(200);
    expect(created.text).not.toContain(key);
    expect(created.body.template.experiments[0].model).toMatchObject({ name: 'm', has_api_key: true });
    const { rows } = await api.pool.query('SELECT template::text AS t FROM schedule WHERE id = $1', [created.body.id]);
    expect(rows[0].t).not.toContain(key);
    expect((await api.call('GET', `/v1/schedule/${created.body.id}`)).text).not.toContain(key);
    expect((await api.call('GET', '/v1/schedules')).text).not.toContain(key);
    const run = await tick(api.core, created.body.id, new Date(Date.UTC(2026, 0, 1)));
    expect(run.status).toBe('launched');
    const exp = (await api.call('GET', `/v1/experiment_set/${run.experiment_set_id}`)).body.experiments[0];
    expect(exp.model.has_api_key).toBe(true);
    const { rows: sealed } = await api.pool.query('SELECT model_api_key FROM experiment WHERE id = $1', [exp.id]);
    expect(await api.core.secrets.open(sealed[0].model_api_key)).toBe(key);
  });
});

describe('ticks (fake clock)', () => {
  it('launches a run per tick, skips a tick while the previous run is going, and compares finished runs', async () => {
    const created = await api.call('POST', '/v1/schedule', { body: { name: 'ticking', cron: '0 * * * *', template: template(['answer 0', 'answer 1', 'x', 'x']) } });
    const id = created.body.id;
    const t = (h: number) => new Date(Date.UTC(2026, 5, 1, h));

    const first = await tick(api.core, id, t(1));
    expect(first).toMatchObject({ status: 'launched' });
    // The runner has not finished the first run yet when the next tick fires at once.
    const second = await tick(api.core, id, t(2));
    expect(second).toEqual({ status: 'skipped', reason: `the previous run (experiment set ${first.experiment_set_id}) is still going` });
    await finished(first.experiment_set_id!);
    const third = await tick(api.core, id, t(3));
    expect(third).toMatchObject({ status: 'launched' });
    expect(await tick(api.core, id, t(3))).toEqual({ status: 'skipped', reason: 'this tick was already handled' });
    await finished(third.experiment_set_id!);

    await api.call('PATCH', `/v1/schedule/${id}`, { body: { paused: true } });
    expect(await tick(api.core, id, t(4))).toEqual({ status: 'skipped', reason: 'the schedule is paused' });

    const schedule = (await api.call('GET', `/v1/schedule/${id}`)).body;
    expect(schedule.runs.map((r: { status: string }) => r.status)).toEqual(['launched', 'skipped', 'launched', 'skipped']);
    expect(schedule.runs[0].experiment_set_id).toBe(first.experiment_set_id);
    // Same template, same answers: no difference, no regression.
    expect(schedule.runs[2].comparison).toMatchObject({ previous_set: first.experiment_set_id, metrics: [{ model: 'm', metric: 'exact_match', n: 4, mean_a: 0.5, mean_b: 0.5, difference: 0, ci95: [0, 0], regression: false }] });
    expect(schedule.runs[0].comparison).toBeNull();
  });
});

describe('GET /v1/compare', () => {
  async function setWith(name: string, outputs: string[], rows: number) {
    await api.call('POST', '/v1/dataset', { body: { name: `${name}-ds`, readme: '', df: makeDf(rows) } });
    const res = await api.call('POST', '/v1/experiment_set', { body: { name, readme: '', experiments: [{ name, dataset: `${name}-ds`, model: { aliased_name: 'm', output: outputs }, metrics: ['exact_match'] }] } });
    await finished(res.body.id);
    return res.body.id as number;
  }

  it('gives the paired difference with a t-based 95% CI, computed here by hand, kept within the metric\'s range', async () => {
    // exact_match: A = [1, 1, 0, 1], B = [1, 0, 0, 0]; differences B - A = [0, -1, 0, -1].
    const a = await setWith('cmp-a', ['answer 0', 'answer 1', 'no', 'answer 3'], 4);
    const b = await api.call('POST', '/v1/experiment_set', { body: { name: 'cmp-b', readme: '', experiments: [{ name: 'cmp-b', dataset: 'cmp-a-ds', model: { aliased_name: 'm', output: ['answer 0', 'no', 'no', 'no'] }, metrics: ['exact_match'] }] } });
    await finished(b.body.id);
    const res = await api.call('GET', `/v1/compare?set_a=${a}&set_b=${b.body.id}`);
    expect(res.status).toBe(200);
    const [m] = res.body.metrics;
    const sd = Math.sqrt((0.25 + 0.25 + 0.25 + 0.25) / 3); // deviations of [0,-1,0,-1] from -0.5
    const half = (tQuantile(0.95, 3) * sd) / 2;
    expect(m).toMatchObject({ n: 4, mean_a: 0.75, mean_b: 0.25, difference: -0.5, regression: false });
    // -0.5 - half is -1.42: a difference of 0/1 scores cannot pass -1, so the interval stops there.
    expect(m.ci95[0]).toBe(-1);
    expect(m.ci95[1]).toBeCloseTo(-0.5 + half, 12);
    expect(half).toBeCloseTo(0.9186931, 6); // 3.18244630528371 × 0.57735027 / 2
  });

  it('flags a regression when the whole interval is below zero', async () => {
    const good = await setWith('reg-a', Array.from({ length: 6 }, (_, i) => `answer ${i}`), 6);
    const bad = await api.call('POST', '/v1/experiment_set', { body: { name: 'reg-b', readme: '', experiments: [{ name: 'reg-b', dataset: 'reg-a-ds', model: { aliased_name: 'm', output: ['answer 0', 'no', 'no', 'no', 'no', 'no'] }, metrics: ['exact_match'] }] } });
    await finished(bad.body.id);
    const [m] = (await api.call('GET', `/v1/compare?set_a=${good}&set_b=${bad.body.id}`)).body.metrics;
    expect(m).toMatchObject({ n: 6, regression: true });
    expect(m.ci95[1]).toBeLessThan(0);
    expect((await api.call('GET', `/v1/compare?set_a=${good}&set_b=999999`)).status).toBe(404);
  });
});
