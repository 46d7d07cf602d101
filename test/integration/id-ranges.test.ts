/**
 * Ids are PostgreSQL `serial`s (1 to 2147483647) and row counts `integer`s:
 * a number past that range must be refused by the schemas with a 400 naming
 * the field, never reach the database (where it is a 500) and write nothing.
 */
import { resourceRoutes } from '../../functions/api/handler.js';
import { createRouter } from '../../functions/api/router.js';
import { makeDf, startApi, type TestApi } from '../support/api.js';

let api: TestApi;
const raw = (over: Record<string, unknown> = {}) => ({ aliased_name: 'mine', output: ['a', 'b', 'c'], ...over });
const experiment = (over: Record<string, unknown> = {}) => ({ name: 'ranged', dataset: 'ranges', model: raw(), metrics: ['exact_match'], ...over });

beforeAll(async () => {
  api = await startApi();
  expect((await api.call('POST', '/v1/dataset', { body: { name: 'ranges', readme: '', df: makeDf(3) } })).status).toBe(200);
});
afterAll(() => api.close());

/** Sends a request that must be refused with a 400 naming `field`, and checks nothing was written. */
async function refused(method: string, path: string, body: unknown, field: string) {
  const before = await api.footprint();
  const res = await api.call(method, path, body === undefined ? {} : { body });
  expect({ status: res.status, fields: (res.body.errors ?? []).map((e: { path: string }) => e.path) }).toEqual({ status: 400, fields: [field] });
  expect(await api.footprint()).toEqual(before);
  return res;
}

describe('ids and integers out of PostgreSQL\'s range', () => {
  it.each([2147483648, 4294967296, Number.MAX_SAFE_INTEGER, 0, -1])('refuses experiment_set_id %p with a 400 naming it', async (id) => {
    const res = await refused('POST', '/v1/experiment', experiment({ experiment_set_id: id }), 'experiment_set_id');
    expect(res.body.detail).toMatch(/experiment_set_id: an id is an integer from 1 to 2147483647/);
  });

  it('refuses experiment_set_id in a set body too, where it has no place', async () => {
    await refused('POST', '/v1/experiment_set', { name: 'with-id', experiments: [experiment({ experiment_set_id: 2147483648 })] }, 'experiments.0.experiment_set_id');
  });

  it('accepts the largest id, which then names no set', async () => {
    const res = await api.call('POST', '/v1/experiment', { body: experiment({ experiment_set_id: 2147483647 }) });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/experiment_set_id: no experiment set 2147483647/);
  });

  it.each(['execution_time', 'nb_tokens_prompt', 'nb_tokens_completion', 'nb_tool_calls'])('refuses a per-row %s the database cannot store', async (field) => {
    await refused('POST', '/v1/experiment', experiment({ model: raw({ [field]: [1, 2147483648, 3] }) }), `model.${field}.1`);
  });

  it('refuses a sample index past the range, naming it', async () => {
    await refused('POST', '/v1/experiment', experiment({ model: raw({ output: ['a'] }), sample: [2147483648] }), 'sample.0');
  });

  const withId = resourceRoutes.filter((r) => r.path.includes('{id}'));
  it.each(withId.flatMap((r) => ['2147483648', '99999999999999999999', '0'].map((id) => [r.method, r.path, id] as const)))(
    '%s %s with id %s answers 400 naming path.id',
    async (method, path, id) => {
      const res = await refused(method, path.replace('{id}', id), undefined, 'path.id');
      expect(res.body.detail).toMatch(/path.id: an id is an integer from 1 to 2147483647/);
    },
  );

  it('refuses to build a router with a path parameter that no schema checks', () => {
    const route = { method: 'GET' as const, path: '/v1/thing/{id}', summary: 'unchecked', run: async () => ({ body: null }) };
    expect(() => createRouter([route], () => api.core)).toThrow('route GET /v1/thing/{id} has path parameters but no params schema');
  });

  it.each([
    ['/v1/experiments?set_id=2147483648', 'query.set_id'],
    ['/v1/experiments?limit=2147483648', 'query.limit'],
    ['/v1/experiments?limit=1001', 'query.limit'],
    ['/v1/experiment_sets?limit=0', 'query.limit'],
    ['/v1/leaderboard?limit=99999999999', 'query.limit'],
    ['/v1/compare?set_a=2147483648&set_b=1', 'query.set_a'],
    ['/v1/compare?set_a=1&set_b=0', 'query.set_b'],
  ])('GET %s answers 400 naming %s', async (path, field) => {
    await refused('GET', path, undefined, field);
  });
});
