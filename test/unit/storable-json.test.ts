/** storableJson: model output made storable in the JSON text itself, and nothing else touched. */
import { storableJson } from '../../core/storable.js';

describe('storableJson', () => {
  it('replaces NUL characters and lone surrogates, in values and keys, by U+FFFD', () => {
    const out = JSON.parse(storableJson({ a: 'x\u0000y', b: ['\ud800', 'z\udc00'], ['k\u0000']: 1 }));
    expect(out).toEqual({ a: 'x\ufffdy', b: ['\ufffd', 'z\ufffd'], ['k\ufffd']: 1 });
  });

  it('leaves valid surrogate pairs, and text that only spells an escape after a backslash, as they are', () => {
    const value = { emoji: '\ud83d\ude00', spelled: 'a\\u0000 and \\ud800', doubled: '\\\\u0000' };
    expect(JSON.parse(storableJson(value))).toEqual(value);
  });

  it('replaces the character after an even run of backslashes', () => {
    expect(JSON.parse(storableJson({ s: '\\\\\u0000' }))).toEqual({ s: '\\\\\ufffd' });
  });
});
