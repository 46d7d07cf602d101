/**
 * GET /v1/experiment/{id}/rows: an experiment's rows page by page, each with
 * its dataset fields (also under the names columns_map gives them), its
 * answer and every metric's observation; filters for failed rows, a score
 * range and text; a sort by metric. Run through the real runner against the
 * stub model, so the rows hold what a run really stores.
 */
import { jest } from '@jest/globals';
import { runnerFixtures, terminal } from '../support/runner.js';

jest.setTimeout(120_000);

const fx = runnerFixtures();

type Row = { num_line: number; data: Record<string, unknown>; answer: { answer: string | null; error_msg: string | null } | null; observations: Record<string, { score: number | null; error_msg: string | null }> };
type Page = { experiment_id: number; total: number; rows: Row[]; next_cursor: string | null };

/** Six rows: the model gets rows 0, 2 and 4 right, rows 1 and 5 wrong, and refuses row 3 (a 400, not retried). */
const lineOf = (body: any) => Number(/question (\d+)/.exec(JSON.stringify(body.messages))![1]);
let id: number;

beforeAll(async () => {
  const df = JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ question: `question ${i}`, truth: `answer ${i}`, topic: i < 3 ? 'maths' : 'history' })));
  const ds = await fx.api.call('POST', '/v1/dataset', { body: { name: 'rows-ds', readme: '', df, columns_map: { query: 'question', output_true: 'truth' } } });
  expect(ds.status).toBe(200);
  fx.model.setBehaviour({
    script: (_, body) => (lineOf(body) === 3 ? '400' : 'ok'),
    reply: (body) => (lineOf(body) % 2 === 0 ? `answer ${lineOf(body)}` : 'wrong'),
  });
  const created = await fx.api.call('POST', '/v1/experiment', {
    body: { name: 'rows', dataset: 'rows-ds', model: { name: 'gen', base_url: fx.model.url }, metrics: ['exact_match', 'output_length'] },
  });
  expect(created.status).toBe(200);
  id = created.body.id;
  fx.runner();
  expect((await terminal(fx.api, id, 60_000)).experiment_status).toBe('finished');
});

const rows = async (query = ''): Promise<Page> => {
  const res = await fx.api.call('GET', `/v1/experiment/${id}/rows${query ? `?${query}` : ''}`);
  expect(res.status).toBe(200);
  return res.body;
};
const lines = (page: Page) => page.rows.map((r) => r.num_line);

describe('GET /v1/experiment/{id}/rows', () => {
  it('shows each row with its dataset fields under Evalap\'s names, its answer and every metric\'s observation', async () => {
    const page = await rows();
    expect(page.total).toBe(6);
    expect(lines(page)).toEqual([0, 1, 2, 3, 4, 5]);
    const [first, , , refused] = page.rows;
    expect(first.data).toEqual({ question: 'question 0', truth: 'answer 0', topic: 'maths', query: 'question 0', output_true: 'answer 0' });
    expect(first.answer).toMatchObject({ answer: 'answer 0', error_msg: null });
    expect(first.observations.exact_match).toMatchObject({ score: 1, error_msg: null });
    expect(first.observations.output_length).toMatchObject({ score: 2 });
    expect(refused.answer!.error_msg).toMatch(/400/);
    expect(refused.answer!.answer).toBeNull();
    expect(page.next_cursor).toBeNull();
  });

  it('pages with the cursor it returns until every row has been seen once', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await rows(`limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.total).toBe(6);
      seen.push(...lines(page));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('sorts by a metric worst first by default, rows without a score last, and best first with order=desc', async () => {
    expect(lines(await rows('sort=exact_match'))).toEqual([1, 5, 0, 2, 4, 3]);
    expect(lines(await rows('sort=exact_match&order=desc'))).toEqual([0, 2, 4, 1, 5, 3]);
  });

  it('filters to failed rows, to a score range of one metric, and by text in the row or the answer', async () => {
    expect(lines(await rows('failed=True'))).toEqual([3]);
    const wrong = await rows('metric=exact_match&max_score=0');
    expect(lines(wrong)).toEqual([1, 5]);
    expect(wrong.total).toBe(2);
    expect(lines(await rows('metric=exact_match&min_score=0.5&sort=exact_match'))).toEqual([0, 2, 4]);
    expect(lines(await rows('q=HISTORY'))).toEqual([3, 4, 5]);
    expect(lines(await rows('q=wrong'))).toEqual([1, 5]);
    expect(lines(await rows('q=100%25'))).toEqual([]);
  });

  it('says what is wrong with a query it cannot answer, naming the experiment\'s metrics', async () => {
    const unknown = await fx.api.call('GET', `/v1/experiment/${id}/rows?sort=judge_notator`);
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('exact_match, output_length');
    expect((await fx.api.call('GET', `/v1/experiment/${id}/rows?min_score=1`)).status).toBe(400);
    expect((await fx.api.call('GET', `/v1/experiment/${id}/rows?metric=exact_match&max_score=abc`)).status).toBe(400);
    expect((await fx.api.call('GET', `/v1/experiment/${id}/rows?cursor=nonsense`)).status).toBe(400);
    expect((await fx.api.call('GET', `/v1/experiment/${id}/rows?limit=501`)).status).toBe(400);
    expect((await fx.api.call('GET', '/v1/experiment/999999/rows')).status).toBe(404);
  });
});

describe('GET /v1/experiment/{id}/failures', () => {
  it('groups the failed answers by message with a count, an example and the first row, and lists every metric', async () => {
    const res = await fx.api.call('GET', `/v1/experiment/${id}/failures`);
    expect(res.status).toBe(200);
    expect(res.body.num_total).toBe(6);
    expect(res.body.answers).toEqual({ failed: 1, kinds: [{ example: expect.stringMatching(/400/), rows: 1, first_num_line: 3 }], other_rows: 0 });
    expect(res.body.metrics.map((m: { metric: string }) => m.metric)).toEqual(['exact_match', 'output_length']);
    expect((await fx.api.call('GET', '/v1/experiment/999999/failures')).status).toBe(404);
  });
});
