/**
 * The API's opaque page cursors (base64url): one over ids or row numbers in
 * order, one over offsets in a filtered and sorted list. Clients only hand
 * back what a page returned; anything else is a 400.
 */
import { ValidationError } from './errors.js';
import { PG_INT_MAX } from './schemas.js';

/** Opaque cursors: the last id of the page, base64url-encoded. */
export const cursor = {
  encode: (id: number) => Buffer.from(`id:${id}`).toString('base64url'),
  decode(value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    const m = /^id:(\d{1,10})$/.exec(Buffer.from(value, 'base64url').toString());
    if (!m || Number(m[1]) > PG_INT_MAX) throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned' }]);
    return Number(m[1]);
  },
};

/** Opaque cursors over a filtered, sorted list: the offset of the next page. */
export const offsetCursor = {
  encode: (offset: number) => Buffer.from(`at:${offset}`).toString('base64url'),
  decode(value: string | undefined): number {
    if (value === undefined) return 0;
    const m = /^at:(\d{1,9})$/.exec(Buffer.from(value, 'base64url').toString());
    if (!m) throw new ValidationError('invalid cursor', [{ path: 'cursor', message: 'not a cursor this route returned' }]);
    return Number(m[1]);
  },
};
