import { makeDf, startApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startApi({ EVALAP_MAX_BODY_BYTES: String(64 * 1024) });
});
afterAll(() => api.close());

const meta = (name: string) => ({ name, readme: 'a test dataset', default_metric: 'exact_match' });

describe('POST /v1/dataset', () => {
  it.each([
    ['records', JSON.stringify([{ query: 'q0', output_true: 'a0' }, { query: 'q1', output_true: 'a1' }])],
    ['columns', JSON.stringify({ query: { '0': 'q0', '1': 'q1' }, output_true: { '0': 'a0', '1': 'a1' } })],
    ['split', JSON.stringify({ columns: ['query', 'output_true'], index: [0, 1], data: [['q0', 'a0'], ['q1', 'a1']] })],
  ])('stores a df in the %s orient one row per database row', async (orient, df) => {
    const res = await api.call('POST', '/v1/dataset', { body: { ...meta(`ds-${orient}`), df } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: `ds-${orient}`, size: 2, columns: ['query', 'output_true'], default_metric: 'exact_match', compliance: false });
    const full = await api.call('GET', `/v1/dataset/${res.body.id}?with_df=true`);
    expect(JSON.parse(full.body.df)).toEqual([{ query: 'q0', output_true: 'a0' }, { query: 'q1', output_true: 'a1' }]);
    const { rows } = await api.pool.query('SELECT num_line FROM dataset_row WHERE dataset_id = $1 ORDER BY num_line', [res.body.id]);
    expect(rows.map((r) => r.num_line)).toEqual([0, 1]);
  });

  it('accepts a CSV body with the metadata in the query string', async () => {
    const res = await api.call('POST', '/v1/dataset?name=from-csv&readme=csv', { raw: 'query,output_true\n"a, b",x\nc,"multi\nline"\n', contentType: 'text/csv' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'from-csv', size: 2, readme: 'csv' });
    const full = await api.call('GET', `/v1/dataset/${res.body.id}?with_df=true`);
    expect(JSON.parse(full.body.df)[1]).toEqual({ query: 'c', output_true: 'multi\nline' });
  });

  it('accepts a JSONL body', async () => {
    const res = await api.call('POST', '/v1/dataset?name=from-jsonl', { raw: '{"query":"a","n":1}\n\n{"query":"b","n":2}\n', contentType: 'application/x-ndjson' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ size: 2, columns: ['query', 'n'] });
  });

  it('refuses a duplicate name with 409 and writes nothing', async () => {
    await api.call('POST', '/v1/dataset', { body: { ...meta('dup'), df: makeDf(2) } });
    const before = await api.footprint();
    const res = await api.call('POST', '/v1/dataset', { body: { ...meta('dup'), df: makeDf(3) } });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.detail).toMatch(/already exists/);
    expect(await api.footprint()).toEqual(before);
  });
});

describe('malformed dataset uploads', () => {
  const cases: [string, Parameters<TestApi['call']>[2], number, RegExp, string?][] = [
    ['invalid JSON', { raw: '{"name": "x", ', contentType: 'application/json' }, 400, /invalid JSON body/],
    ['a missing field', { body: { name: 'x' } }, 400, /df/],
    ['a wrong type', { body: { name: 42, df: makeDf(1) } }, 400, /name/],
    ['an unknown field', { body: { ...meta('x'), df: makeDf(1), colour: 'red' } }, 400, /colour: unknown field/],
    ['a df that is not a frame', { body: { ...meta('x'), df: '[[1,2],[3,4]]' } }, 400, /orient/],
    ['an empty df', { body: { ...meta('x'), df: '[]' } }, 400, /no rows/],
    ['an unknown default metric', { body: { ...meta('x'), default_metric: 'nope', df: makeDf(1) } }, 400, /default_metric: unknown metric "nope"/],
    ['a columns_map naming a missing column', { body: { ...meta('x'), columns_map: { output_true: 'gold' }, df: makeDf(1) } }, 400, /columns_map.output_true: the dataset has no column "gold"/],
    ['a wrong content type', { raw: 'hello', contentType: 'text/plain' }, 415, /unsupported content type "text\/plain"/],
    ['a ragged CSV', { raw: 'a,b\n1\n', contentType: 'text/csv' }, 400, /line 2/, '/v1/dataset?name=ragged'],
    ['a CSV without a name', { raw: 'a,b\n1,2\n', contentType: 'text/csv' }, 400, /name/],
    ['a body over the limit', { body: { ...meta('big'), df: makeDf(3000) } }, 413, /POST \/v1\/dataset\/\{id\}\/rows/],
    ['no body', {}, 400, /needs a JSON body/],
  ];
  it.each(cases)('answers %s with a clear 4xx and writes nothing', async (_name, options, status, detail, path = '/v1/dataset') => {
    const before = await api.footprint();
    const res = await api.call('POST', path, options);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.detail).toMatch(detail);
    expect(await api.footprint()).toEqual(before);
  });
});

describe('reading, changing and deleting datasets', () => {
  let id: number;
  beforeAll(async () => {
    id = (await api.call('POST', '/v1/dataset', { body: { ...meta('crud'), df: makeDf(3) } })).body.id;
  });

  it('lists datasets and finds one by name', async () => {
    const list = await api.call('GET', '/v1/datasets');
    expect(list.body.map((d: { name: string }) => d.name)).toContain('crud');
    const byName = await api.call('GET', '/v1/dataset?name=crud');
    expect(byName.body).toMatchObject({ id, size: 3 });
    expect(byName.body.df).toBeUndefined();
    expect((await api.call('GET', '/v1/dataset?name=absent')).status).toBe(404);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const missing = await api.call('GET', '/v1/dataset/999999');
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe('dataset 999999 not found');
    expect((await api.call('GET', '/v1/dataset/abc')).status).toBe(400);
    expect((await api.call('GET', `/v1/dataset/${id}?with_df=maybe`)).status).toBe(400);
  });

  it('patches metadata only', async () => {
    const res = await api.call('PATCH', `/v1/dataset/${id}`, { body: { readme: 'new readme', columns_map: { output: 'query' } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ readme: 'new readme', columns_map: { output: 'query' }, size: 3 });
    const before = await api.footprint();
    expect((await api.call('PATCH', `/v1/dataset/${id}`, { body: { df: makeDf(1) } })).status).toBe(400);
    expect((await api.call('PATCH', `/v1/dataset/${id}`, { body: {} })).status).toBe(400);
    expect(await api.footprint()).toEqual(before);
  });

  it('appends rows in chunks, numbering them after the existing ones', async () => {
    const res = await api.call('POST', `/v1/dataset/${id}/rows`, { body: { df: makeDf(2, (i) => ({ extra: i })) } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ size: 5, columns: ['query', 'output_true', 'extra'] });
    const csv = await api.call('POST', `/v1/dataset/${id}/rows`, { raw: 'query,output_true\nq,a\n', contentType: 'text/csv' });
    expect(csv.body.size).toBe(6);
    const { rows } = await api.pool.query('SELECT max(num_line) AS m, count(*)::int AS n FROM dataset_row WHERE dataset_id = $1', [id]);
    expect(rows[0]).toEqual({ m: 5, n: 6 });
  });

  it('deletes a dataset no experiment uses', async () => {
    const other = (await api.call('POST', '/v1/dataset', { body: { ...meta('to-delete'), df: makeDf(2) } })).body.id;
    expect((await api.call('DELETE', `/v1/dataset/${other}`)).status).toBe(200);
    expect((await api.call('GET', `/v1/dataset/${other}`)).status).toBe(404);
    expect((await api.call('DELETE', `/v1/dataset/${other}`)).status).toBe(404);
  });
});
