import { classifyHttpError, malformedResponseError, MAX_PROVIDER_MESSAGE, toProviderError, type CallContext } from '../../core/providers/errors.js';
import { NO_HEADERS } from '../../core/providers/http.js';

// A key with the characters that URL-encoding and JSON-escaping change.
const KEY = 'sk-SECRET-7fQ2/Lw+9=aB"c\\d-é-Zt8';
const ctx: CallContext = { model: 'm', url: 'http://127.0.0.1:1/v1/chat/completions', apiKey: KEY };

/** How a provider may quote the key: the text before it, and the key as written. */
const ECHOES: Record<string, { lead: string; form: string }> = {
  'bare': { lead: 'Incorrect API key provided: ', form: KEY },
  'after Bearer': { lead: 'Incorrect API key provided: Bearer ', form: KEY },
  'URL-encoded': { lead: 'GET /v1/models?api_key=', form: encodeURIComponent(KEY) },
  'JSON-escaped': { lead: '{"headers":{"authorization":"Bearer ', form: JSON.stringify(KEY).slice(1, -1) },
  'JSON-escaped, ASCII only': { lead: '{"api_key":"', form: JSON.stringify(KEY).slice(1, -1).replace('é', '\\u00e9') },
};

/** The three ways a provider's text reaches a message, and where each cuts it. */
const PATHS: Record<string, { cut: number; message: (text: string) => string }> = {
  'an error answer (JSON)': {
    cut: MAX_PROVIDER_MESSAGE,
    message: (text) => classifyHttpError(401, NO_HEADERS, JSON.stringify({ error: { message: text } }), ctx).message,
  },
  'a 2xx that is not a completion': {
    cut: 200,
    message: (text) => malformedResponseError(200, 'a body that is not JSON', text, ctx).message,
  },
  'an error thrown while calling': {
    cut: MAX_PROVIDER_MESSAGE,
    message: (text) => toProviderError(new Error(text), ctx).message,
  },
};

/** What of `form` shows in `message`: its first 4 characters, or any 8 in a row. */
function leakOf(form: string, message: string): string | undefined {
  if (message.includes(form.slice(0, 4))) return form.slice(0, 4);
  for (let i = 0; i + 8 <= form.length; i++) if (message.includes(form.slice(i, i + 8))) return form.slice(i, i + 8);
  return undefined;
}

describe('provider error messages', () => {
  for (const [path, { cut, message }] of Object.entries(PATHS)) {
    for (const [echo, { lead, form }] of Object.entries(ECHOES)) {
      it(`never show the key echoed ${echo} in ${path}, wherever the cut falls`, () => {
        const leaks: string[] = [];
        let masked = 0;
        // The key starts at every offset from well before the cut to just after it.
        for (let start = lead.length; start <= cut + 1; start++) {
          const text = `${'x'.repeat(start - lead.length)}${lead}${form} is not valid; see the docs.`;
          const got = message(text);
          const leak = leakOf(form, got);
          if (leak) leaks.push(`key at ${start}: "${leak}" in …${got.slice(-60)}`);
          if (start + form.length <= cut && got.includes(`${lead}***`)) masked++;
        }
        expect(leaks).toEqual([]);
        // Where the whole key fits before the cut, it was found and masked, not merely cut away.
        expect(masked).toBe(cut - lead.length - form.length + 1);
      });
    }
  }

  it('mask a key the old cut fell inside, before cutting', () => {
    const filler = 'x'.repeat(MAX_PROVIDER_MESSAGE - 'Incorrect API key provided: Bearer sk-SECRET-'.length);
    const got = classifyHttpError(401, NO_HEADERS, JSON.stringify({ error: { message: `${filler}Incorrect API key provided: Bearer ${KEY}` } }), ctx).message;
    expect(got.endsWith(`${filler}Incorrect API key provided: Bearer ***`)).toBe(true);
  });

  it('mask the head of a partly echoed key that the cut splits', () => {
    // The provider abbreviates the key itself ("sk-SECRET-7fQ2..."): no whole key to find, and the cut leaves 6 of its characters.
    const filler = 'x'.repeat(MAX_PROVIDER_MESSAGE - 'Bearer sk-SEC'.length);
    const got = classifyHttpError(401, NO_HEADERS, JSON.stringify({ error: { message: `${filler}Bearer ${KEY.slice(0, 14)}... is wrong` } }), ctx).message;
    expect(got.endsWith(`${filler}Bearer ***…`)).toBe(true);
  });

  it('mask a key the provider itself cut short at the end of its text', () => {
    const got = classifyHttpError(401, NO_HEADERS, JSON.stringify({ error: { message: 'Incorrect API key provided: sk-SECR' } }), ctx).message;
    expect(got).toBe('HTTP 401 from m (http://127.0.0.1:1/v1/chat/completions): Incorrect API key provided: ***');
  });

  it('mask a key found in an error object the provider sent without a message', () => {
    const got = classifyHttpError(400, NO_HEADERS, JSON.stringify({ error: { code: 'bad_key', param: KEY } }), ctx).message;
    expect(got).toBe('HTTP 400 from m (http://127.0.0.1:1/v1/chat/completions): {"code":"bad_key","param":"***"}');
  });

  it('keep text that merely starts like the key when it is shorter than 4 characters, and cut long text without a key as before', () => {
    expect(classifyHttpError(401, NO_HEADERS, JSON.stringify({ error: { message: 'prefix sk-' } }), ctx).message).toMatch(/: prefix sk-$/);
    const long = classifyHttpError(422, NO_HEADERS, JSON.stringify({ error: { message: 'y'.repeat(5000) } }), { ...ctx, apiKey: null }).message;
    expect(long.endsWith(`: ${'y'.repeat(MAX_PROVIDER_MESSAGE)}…`)).toBe(true);
  });
});
