import { ProviderError } from '../../core/providers/errors.js';
import { imagePart } from '../../core/providers/image.js';

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

describe('imagePart (a with_vision row\'s image as an OpenAI content part)', () => {
  it('turns Hugging Face\'s {bytes, path} image struct into a data URL whose media type matches the bytes, not the name', () => {
    const jpeg = b64([0xff, 0xd8, 0xff, 0xe0, 0, 16]);
    expect(imagePart({ bytes: jpeg, path: 'page.png' }, 'img')).toEqual({ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg}` } });
    const png = b64([0x89, 0x50, 0x4e, 0x47, 13, 10]);
    expect(imagePart(png, 'img').image_url.url).toBe(`data:image/png;base64,${png}`);
    const webp = b64([0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4]);
    expect(imagePart({ bytes: webp, path: null }, 'img').image_url.url).toBe(`data:image/webp;base64,${webp}`);
  });

  it('labels bytes of no known format PNG, as Evalap labels every image', () => {
    expect(imagePart(b64([1, 2, 3, 4, 5]), 'img').image_url.url).toMatch(/^data:image\/png;base64,/);
  });

  it('passes a data URL or an http(s) URL as it is', () => {
    expect(imagePart('data:image/gif;base64,R0lGODlh', 'img').image_url.url).toBe('data:image/gif;base64,R0lGODlh');
    expect(imagePart('https://example.org/p.png', 'img').image_url.url).toBe('https://example.org/p.png');
  });

  it('fails the row for good, naming the column, when it holds no image', () => {
    for (const value of [undefined, null, '', { bytes: null, path: 'x' }, 42]) {
      let caught: unknown;
      try {
        imagePart(value, 'img');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProviderError);
      expect(caught).toMatchObject({ retryable: false, message: expect.stringContaining('"img" column') });
    }
  });
});
