/**
 * with_vision end to end: a Parquet upload with Evalap's `img` column, an
 * experiment launched with with_vision, a real runner, and the stub model
 * server's record of what the model was sent.
 */
import { jest } from '@jest/globals';
import { makeDf } from '../support/api.js';
import { runnerFixtures, terminal } from '../support/runner.js';
import { parquetFile } from '../evalap-compat/parquet.js';

jest.setTimeout(90_000);

const fx = runnerFixtures();

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]);

async function ocrDataset(name: string): Promise<void> {
  // df rows too, so a run that read them instead of the Parquet rows would be seen.
  const created = await fx.api.call('POST', '/v1/dataset', { body: { name, readme: '', df: makeDf(2) } });
  expect(created.status).toBe(200);
  const file = parquetFile({
    img: [{ bytes: PNG, path: 'p0.png' }, { bytes: JPEG, path: 'p1.jpg' }],
    query: ['page 0', 'page 1'],
    markdown_true: ['# zero', '# one'],
  });
  const res = await fetch(`${fx.api.url}/v1/dataset/${created.body.id}/upload_parquet`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file });
  expect(res.status).toBe(200);
}

const launch = async (body: Record<string, unknown>) => {
  const res = await fx.api.call('POST', '/v1/experiment', { body });
  expect(res.status).toBe(200);
  return res.body.id as number;
};

const userMessages = () => fx.model.requests.map((r) => r.body.messages.at(-1)).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('a with_vision experiment', () => {
  it('sends each Parquet row\'s image to the model as an image content part after the prelude and query text', async () => {
    await ocrDataset('ocr-1');
    fx.runner({ MAX_CONCURRENT_TASKS: '2' });
    const id = await launch({
      name: 'ocr-run',
      dataset: 'ocr-1',
      with_vision: true,
      model: { name: 'stub-vision', base_url: fx.model.url, system_prompt: 'You transcribe pages.', prelude_prompt: 'Transcribe to markdown.' },
      metrics: ['output_length'],
    });
    const exp = await terminal(fx.api, id);
    expect(exp).toMatchObject({ experiment_status: 'finished', num_total: 2, num_success: 2, with_vision: true });
    expect(fx.model.requests.map((r) => r.body.messages[0])).toEqual([
      { role: 'system', content: 'You transcribe pages.' },
      { role: 'system', content: 'You transcribe pages.' },
    ]);
    expect(userMessages()).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Transcribe to markdown.\n\npage 0' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } }] },
      { role: 'user', content: [{ type: 'text', text: 'Transcribe to markdown.\n\npage 1' }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG.toString('base64')}` } }] },
    ]);
    // Its rows page shows the Parquet rows it answered, the image left out.
    const page = (await fx.api.call('GET', `/v1/experiment/${id}/rows`)).body;
    expect(page.total).toBe(2);
    expect(page.rows.map((r: { data: Record<string, unknown> }) => r.data.img)).toEqual(['(image)', '(image)']);
    expect(page.rows[0].answer.error_msg).toBeNull();
    expect(page.rows[0].observations.output_length.score).toEqual(expect.any(Number));
  });

  it('leaves an experiment without with_vision on the same dataset reading its df rows as plain text', async () => {
    await ocrDataset('ocr-2');
    fx.runner({ MAX_CONCURRENT_TASKS: '2' });
    const id = await launch({ name: 'text-run', dataset: 'ocr-2', model: { name: 'stub-text', base_url: fx.model.url }, metrics: ['output_length'] });
    expect(await terminal(fx.api, id)).toMatchObject({ experiment_status: 'finished', num_total: 2, num_success: 2 });
    expect(userMessages()).toEqual([{ role: 'user', content: 'question 0' }, { role: 'user', content: 'question 1' }]);
  });
});
