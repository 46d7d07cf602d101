/**
 * Responses too large for one Lambda response (6 MB; lowered here to 20 KB
 * so a small dataset crosses it): with_df and with_answers answer 413 naming
 * the paginated route, and the dataset's rows read page by page instead.
 */
import { startApi, type TestApi } from '../support/api.js';

let api: TestApi;
const ROWS = 250;
/** Each row about 120 bytes of JSON: 250 rows are about 30 KB. */
const df = JSON.stringify(Array.from({ length: ROWS }, (_, i) => ({ query: `question ${i} ${'x'.repeat(60)}`, output_true: `answer ${i}` })));
let datasetId: number;

beforeAll(async () => {
  api = await startApi({ EVALAP_MAX_RESPONSE_BYTES: '20000' });
  const created = await api.call('POST', '/v1/dataset', { body: { name: 'wide', readme: '', df } });
  expect(created.status).toBe(200);
  datasetId = created.body.id;
});
afterAll(() => api.close());

describe('a response larger than one response may carry', () => {
  it('is a 413 for with_df that names the dataset rows route, and the dataset alone still reads', async () => {
    for (const path of [`/v1/dataset/${datasetId}?with_df=true`, '/v1/dataset?name=wide&with_df=True']) {
      const res = await api.call('GET', path);
      expect(res.status).toBe(413);
      expect(res.body.detail).toMatch(/the response would be \d\d KB, more than one response may carry \(20 KB\); read the rows page by page with GET \/v1\/dataset\/\{id\}\/rows/);
    }
    expect((await api.call('GET', `/v1/dataset/${datasetId}`)).body).toMatchObject({ id: datasetId, size: ROWS });
  });

  it('is a 413 for with_answers that names the experiment rows route', async () => {
    const output = Array.from({ length: ROWS }, (_, i) => `answer ${i} ${'y'.repeat(60)}`);
    const created = await api.call('POST', '/v1/experiment', { body: { name: 'wide-byo', dataset: 'wide', model: { aliased_name: 'mine', output }, metrics: ['exact_match'] } });
    // The creation's own response carries no answers: it fits.
    expect(created.status).toBe(200);
    const res = await api.call('GET', `/v1/experiment/${created.body.id}?with_answers=true`);
    expect([res.status, JSON.stringify(res.body).slice(0, 300)]).toEqual([413, expect.stringContaining("GET /v1/experiment/{id}/rows")]);
    expect(res.body.detail).toContain('GET /v1/experiment/{id}/rows');
    expect((await api.call('GET', `/v1/experiment/${created.body.id}/rows?limit=10`)).body.rows).toHaveLength(10);
  });
});

describe('GET /v1/dataset/{id}/rows', () => {
  it('reads every row once, in order, page by page with the cursor it returns', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { total: number; rows: { num_line: number; data: { query: string } }[]; next_cursor: string | null } = (
        await api.call('GET', `/v1/dataset/${datasetId}/rows?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
      ).body;
      expect(page.total).toBe(ROWS);
      for (const r of page.rows) expect(r.data.query).toMatch(new RegExp(`^question ${r.num_line} `));
      seen.push(...page.rows.map((r) => r.num_line));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: ROWS }, (_, i) => i));
  });

  it('ends without a cursor when the last page is exactly full, and refuses what it cannot page', async () => {
    const last = await api.call('GET', `/v1/dataset/${datasetId}/rows?limit=50&cursor=${Buffer.from('id:199').toString('base64url')}`);
    expect(last.body.rows.map((r: { num_line: number }) => r.num_line)).toEqual(Array.from({ length: 50 }, (_, i) => 200 + i));
    expect(last.body.next_cursor).toBeNull();
    expect((await api.call('GET', `/v1/dataset/${datasetId}/rows?cursor=garbage`)).status).toBe(400);
    expect((await api.call('GET', `/v1/dataset/${datasetId}/rows?limit=0`)).status).toBe(400);
    expect((await api.call('GET', '/v1/dataset/999999/rows')).status).toBe(404);
  });
});
