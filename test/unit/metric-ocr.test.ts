import { ocrV1 } from '../../core/metrics/builtin/ocr.js';
import { fuzzyRatio } from '../../core/metrics/builtin/levenshtein.js';

describe('ocrV1', () => {
  it('scores the text of the last fenced block against the expected text', () => {
    const output = 'Draft:\n```markdown\nold text\n```\nFinal:\n```markdown\n# Title\n\nHello world\n```\nDone.';
    const r = ocrV1(output, '# Title\n\nHello world');
    expect(r.observation.extracted).toBe('# Title\n\nHello world');
    expect(r.score).toBe(1);
  });

  it('uses the whole output, stripped, when there is no fenced block', () => {
    const r = ocrV1('  Hello world \n', 'Hello world');
    expect(r.observation.extracted).toBe('Hello world');
    expect(r.score).toBe(1);
  });

  it('does not crash on an unterminated fence and then scores the whole output', () => {
    const r = ocrV1('```\nHello', 'Hello');
    expect(r.observation.extracted).toBe('```\nHello');
    expect(r.score).toBeCloseTo(fuzzyRatio('```\nHello', 'Hello') / 100, 15);
  });

  it('ignores a fence whose language tag is not followed by a newline, as Evalap does', () => {
    expect(ocrV1('```json {"a": 1}```', 'x').observation.extracted).toBe('```json {"a": 1}```');
  });

  it('joins the "text" fields of a JSON list of blocks with blank lines', () => {
    const blocks = JSON.stringify([{ type: 'title', text: '# Title' }, { type: 'figure', text: null }, { type: 'para', text: 'Body' }]);
    const r = ocrV1('```json\n' + blocks + '\n```', '# Title\n\n\n\nBody');
    expect(r.observation.extracted).toBe('# Title\n\n\n\nBody');
    expect(r.score).toBe(1);
  });

  it('keeps the JSON text as is when it is not a list of blocks with string texts', () => {
    expect(ocrV1('{"text": "Body"}', 'Body').observation.extracted).toBe('{"text": "Body"}');
    expect(ocrV1('["a", "b"]', 'a').observation.extracted).toBe('["a", "b"]');
    expect(ocrV1('[{"text": 5}]', '5').observation.extracted).toBe('[{"text": 5}]');
    expect(ocrV1('[]', '').observation.extracted).toBe('');
  });

  it('divides the rapidfuzz ratio by 100 so the score lies in 0..1', () => {
    const r = ocrV1('```\nthis is a test\n```', 'this is a test!');
    expect(r.score).toBeCloseTo(0.9655172413793103, 15);
  });

  it('scores 0 against a non-empty expected text for an empty output, and 1 when both are empty', () => {
    expect(ocrV1('', 'text').score).toBe(0);
    expect(ocrV1('   ', '').score).toBe(1);
  });

  it('keeps unicode text intact', () => {
    const r = ocrV1('```\nÉté à Paris — 😀\n```', 'Été à Paris — 😀');
    expect(r.score).toBe(1);
  });
});
