import { rowsHash } from '../../cli/dataset-sync.js';

describe('rowsHash', () => {
  const columns = ['query', 'meta', 'n'];

  it('hashes a CSV row and the API\'s copy of it alike: numbers as text, object keys in any order', () => {
    const fromFile = [{ query: 'Capital of France?', meta: { b: 1, a: [1, { y: 2, x: 1 }] }, n: '3' }];
    const fromApi = [{ n: 3, query: 'Capital of France?', meta: { a: [1, { x: 1, y: 2 }], b: 1 } }];
    expect(rowsHash(columns, fromApi)).toBe(rowsHash(columns, fromFile));
  });

  it('tells rows with another value, or the same rows in another order, apart', () => {
    const rows = [{ query: 'a', meta: null, n: 1 }, { query: 'b', meta: null, n: 2 }];
    expect(rowsHash(columns, [{ ...rows[0], n: 9 }, rows[1]])).not.toBe(rowsHash(columns, rows));
    expect(rowsHash(columns, [rows[1], rows[0]])).not.toBe(rowsHash(columns, rows));
  });
});
