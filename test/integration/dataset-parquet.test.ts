/**
 * POST /v1/dataset/{id}/upload_parquet through the local HTTP adapter: the
 * raw Parquet bytes in, the rows stored apart from the df rows, Evalap's
 * parquet_size/parquet_columns out; bad input refused with nothing written.
 */
import { makeDf, startApi, type TestApi } from '../support/api.js';
import { parquetFile, stringParquet } from '../evalap-compat/parquet.js';

// A small body limit, so "too large" needs no 6 MB upload.
const LIMIT = 64 * 1024;
let api: TestApi;

beforeAll(async () => {
  api = await startApi({ EVALAP_MAX_BODY_BYTES: String(LIMIT) });
});
afterAll(async () => {
  await api.close();
});

let count = 0;
async function dataset(df = '{}'): Promise<number> {
  const res = await api.call('POST', '/v1/dataset', { body: { name: `parquet-${++count}`, readme: '', df } });
  expect(res.status).toBe(200);
  return res.body.id;
}

async function upload(id: number | string, bytes: Uint8Array | string, contentType: string | null = 'application/octet-stream') {
  const res = await fetch(`${api.url}/v1/dataset/${id}/upload_parquet`, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body: typeof bytes === 'string' ? Buffer.from(bytes) : bytes });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const storedRows = async (id: number) =>
  (await api.pool.query('SELECT num_line, data FROM dataset_parquet_row WHERE dataset_id = $1 ORDER BY num_line', [id])).rows.map((r) => r.data);

// Bytes that are not valid UTF-8 (0xff, 0xd8) and hold a NUL: they survive only if nothing decodes them as text.
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const marker = () => parquetFile({
  img: [{ bytes: JPEG, path: 'page-0.jpg' }, { bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0xfe]), path: 'page-1.png' }],
  markdown_true: ['# Title', '| a | b |'],
});

describe('POST /v1/dataset/{id}/upload_parquet', () => {
  it('stores the rows of a Parquet file, image bytes intact, and answers the dataset with parquet_size and parquet_columns as Evalap does', async () => {
    const id = await dataset(makeDf(3));
    const res = await upload(id, marker());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, size: 3, columns: ['query', 'output_true'], parquet_size: 2, parquet_columns: ['img', 'markdown_true'] });
    const rows = await storedRows(id);
    expect(rows).toEqual([
      { img: { bytes: JPEG.toString('base64'), path: 'page-0.jpg' }, markdown_true: '# Title' },
      { img: { bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0xfe]).toString('base64'), path: 'page-1.png' }, markdown_true: '| a | b |' },
    ]);
    const got = await api.call('GET', `/v1/dataset/${id}`);
    expect(got.body).toMatchObject({ size: 3, parquet_size: 2, parquet_columns: ['img', 'markdown_true'] });
  });

  it('takes the file streamed in chunks with no Content-Length, as requests sends the notebook\'s generator', async () => {
    const id = await dataset();
    const file = marker();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < file.length; at += 7) controller.enqueue(file.subarray(at, at + 7));
        controller.close();
      },
    });
    const res = await fetch(`${api.url}/v1/dataset/${id}/upload_parquet`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(200);
    expect(await storedRows(id)).toHaveLength(2);
  });

  it('replaces the Parquet rows of an earlier upload, as Evalap overwrites its file', async () => {
    const id = await dataset();
    expect((await upload(id, marker())).status).toBe(200);
    const res = await upload(id, stringParquet({ text: ['only row'] }));
    expect(res.body).toMatchObject({ parquet_size: 1, parquet_columns: ['text'] });
    expect(await storedRows(id)).toEqual([{ text: 'only row' }]);
  });

  it('lets columns_map name a Parquet column and a with_vision experiment count the Parquet rows, then keeps those rows from changing', async () => {
    const id = await dataset();
    await upload(id, marker());
    const patched = await api.call('PATCH', `/v1/dataset/${id}`, { body: { columns_map: { output_true: 'markdown_true' } } });
    expect(patched.status).toBe(200);
    const launched = await api.call('POST', '/v1/experiment', {
      body: { name: `vision-${id}`, dataset: patched.body.name, with_vision: true, model: { name: 'm', base_url: 'http://127.0.0.1:9/v1' }, metrics: ['ocr_v1'] },
    });
    expect(launched.status).toBe(200);
    expect(launched.body.num_total).toBe(2);
    // Rows an experiment reads never change under it.
    expect((await upload(id, stringParquet({ text: ['other'] }))).status).toBe(409);
    expect((await storedRows(id)).length).toBe(2);
  });

  it('refuses a body that is not Parquet with a 400 saying so, and keeps the earlier upload', async () => {
    const id = await dataset();
    await upload(id, marker());
    const res = await upload(id, 'query,output_true\nhello,world\n');
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/not a Parquet file/);
    expect((await storedRows(id)).length).toBe(2);
    expect((await api.call('GET', `/v1/dataset/${id}`)).body).toMatchObject({ parquet_size: 2, parquet_columns: ['img', 'markdown_true'] });
  });

  it('refuses a file with the Parquet magic bytes but a broken footer with a 400, writing nothing', async () => {
    const id = await dataset();
    const broken = Buffer.from(marker());
    // The footer's length, just before the closing magic bytes, pointing past the file's start.
    broken.writeUInt32LE(broken.length * 2, broken.length - 8);
    const res = await upload(id, broken);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/cannot be read as Parquet/);
    expect(await storedRows(id)).toEqual([]);
  });

  it('refuses an empty body, and a Parquet file without rows, with a 400', async () => {
    const id = await dataset();
    const empty = await upload(id, '');
    expect(empty.status).toBe(400);
    expect(empty.body.detail).toMatch(/body is empty/);
    const noRows = await upload(id, stringParquet({ text: [] }));
    expect(noRows.status).toBe(400);
    expect(noRows.body.detail).toMatch(/has no rows/);
    expect(await storedRows(id)).toEqual([]);
  });

  it('answers 404 for an unknown dataset', async () => {
    const res = await upload(999_999, marker());
    expect(res.status).toBe(404);
  });

  it('refuses a body above the request limit with a 413 that says uploads are one request limited as Lambda limits them', async () => {
    const id = await dataset();
    const big = stringParquet({ text: Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(LIMIT / 10, 'x')) });
    expect(big.length).toBeGreaterThan(LIMIT);
    const res = await upload(id, big);
    expect(res.status).toBe(413);
    expect(res.body.detail).toMatch(new RegExp(`larger than ${LIMIT} bytes; a Parquet file is uploaded in one request.*6 MB`));
    expect(await storedRows(id)).toEqual([]);
  });

  it('refuses a row whose image would pass 3 MiB once stored as base64 (one Data API request holds 4 MiB) with a 400 naming the row', async () => {
    const roomy = await startApi();
    try {
      const created = await roomy.call('POST', '/v1/dataset', { body: { name: 'big-image', readme: '', df: '{}' } });
      const file = parquetFile({ img: [{ bytes: Buffer.alloc(10, 1), path: 'small.png' }, { bytes: Buffer.alloc(2_500_000, 7), path: 'huge.png' }] });
      const res = await fetch(`${roomy.url}/v1/dataset/${created.body.id}/upload_parquet`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/rows\.1: is larger than 3145728 bytes/);
      expect((await roomy.pool.query('SELECT count(*)::int AS n FROM dataset_parquet_row')).rows[0].n).toBe(0);
    } finally {
      await roomy.close();
    }
  });

  it('refuses a content type that is not a file upload with a 415', async () => {
    const id = await dataset();
    const res = await upload(id, '{"df": "{}"}', 'application/json');
    expect(res.status).toBe(415);
  });
});

describe('with_vision at launch', () => {
  it('refuses with a 400 at with_vision an experiment whose dataset has no image column in a Parquet upload', async () => {
    const id = await dataset(makeDf(2));
    await upload(id, stringParquet({ markdown_true: ['a'] }));
    const name = (await api.call('GET', `/v1/dataset/${id}`)).body.name;
    const before = await api.footprint();
    const res = await api.call('POST', '/v1/experiment', {
      body: { name: `no-img-${id}`, dataset: name, with_vision: true, model: { name: 'm', base_url: 'http://127.0.0.1:9/v1' }, metrics: ['output_length'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'with_vision', message: expect.stringMatching(/image column "img".*Parquet columns are "markdown_true"/) })]);
    expect(await api.footprint()).toEqual(before);
  });
});
