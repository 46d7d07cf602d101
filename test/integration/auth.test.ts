import { makeDf, startApi, type TestApi } from '../support/api.js';

const USER = 'user-key-aaaaaaaaaaaaaaaa';
const OTHER_USER = 'user-key-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-key-cccccccccccccccc';
const PROVIDER = 'sk-provider-secret-zzzzzzzz';

let api: TestApi;
const logs: string[] = [];
beforeAll(async () => {
  api = await startApi({ EVALAP_API_KEYS: `${USER},${OTHER_USER}`, EVALAP_ADMIN_KEY: ADMIN }, logs);
});
afterAll(() => api.close());

describe('bearer-key authentication', () => {
  it('answers 401 with a challenge when the key is missing or wrong, and writes nothing', async () => {
    const before = await api.footprint();
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer wrong-key-dddddddddddd` }, { authorization: `Basic ${USER}` }, { authorization: 'Bearer' }]) {
      const res = await api.call('POST', '/v1/dataset', { body: { name: 'x', readme: '', df: makeDf(1) }, headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect((await api.call('GET', '/v1/datasets')).status).toBe(401);
    expect(await api.footprint()).toEqual(before);
  });

  it('lets any user key use the API', async () => {
    expect((await api.call('GET', '/v1/datasets', { key: USER })).status).toBe(200);
    expect((await api.call('GET', '/v1/metrics', { key: OTHER_USER })).status).toBe(200);
    expect((await api.call('GET', '/v1/datasets', { key: ADMIN })).status).toBe(200);
  });

  it('answers 403 to a user key on an admin route, and lets the admin key delete', async () => {
    const created = await api.call('POST', '/v1/dataset', { key: USER, body: { name: 'owned', readme: '', df: makeDf(2) } });
    expect(created.status).toBe(200);
    const forbidden = await api.call('DELETE', `/v1/dataset/${created.body.id}`, { key: USER });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.detail).toMatch(/admin key/);
    expect((await api.call('GET', `/v1/dataset/${created.body.id}`, { key: USER })).status).toBe(200);
    expect((await api.call('DELETE', `/v1/dataset/${created.body.id}`, { key: ADMIN })).status).toBe(200);
  });

  it('keeps /health and /v1/openapi.json public', async () => {
    expect((await api.call('GET', '/health')).status).toBe(200);
    expect((await api.call('GET', '/v1/openapi.json')).status).toBe(200);
    expect((await api.call('GET', '/openapi.json')).status).toBe(200);
  });

  it('never writes API keys or provider keys to the logs or responses', async () => {
    await api.call('POST', '/v1/dataset', { key: USER, body: { name: 'logged', readme: '', df: makeDf(2) } });
    const res = await api.call('POST', '/v1/experiment', { key: USER, body: { name: 'e', dataset: 'logged', model: { name: 'm', base_url: 'http://127.0.0.1:9/v1', api_key: PROVIDER }, metrics: ['exact_match'] } });
    expect(res.status).toBe(200);
    const again = await api.call('GET', `/v1/experiment/${res.body.id}?with_results=true`, { key: USER });
    const bad = await api.call('POST', '/v1/experiment', { key: USER, body: { name: 'e', dataset: 'logged', model: { name: 'm', base_url: 'not a url', api_key: PROVIDER } } });
    expect(bad.status).toBe(400);
    const everything = [res.text, again.text, bad.text, ...logs].join('\n');
    expect(logs.length).toBeGreaterThan(3);
    for (const secret of [USER, OTHER_USER, ADMIN, PROVIDER]) expect(everything).not.toContain(secret);
  });
});

describe('an API with no keys configured', () => {
  it('runs open', async () => {
    const open = await startApi();
    try {
      expect((await open.call('GET', '/v1/datasets')).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
