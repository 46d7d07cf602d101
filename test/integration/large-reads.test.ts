/**
 * readDocs through the local Data API server, which enforces the real
 * service's limits (1 MiB per response, 64 KB per row): docs longer than a
 * row may be, reads larger than a response may be, more docs than one read
 * takes, each read back whole and in key order; and a read that fits is one
 * statement, not two.
 */
import { readDocs } from '../../core/store/large.js';
import type { Db } from '../../core/store/db.js';
import { localDataApiDatabase } from '../../local/stack.js';

const database = localDataApiDatabase(process.env.RDS_DATA_ENDPOINT!, process.env.DATABASE_URL!);
afterAll(() => database.close());

/** The database, counting the statements sent through it. */
function counting(): { db: Db; statements: () => number } {
  let n = 0;
  return { db: { kind: database.kind, query: (sql, params) => (n++, database.query(sql, params)) }, statements: () => n };
}

/** Doc i: a JSON string of `length(i)` characters made of the key and a multi-byte filler. */
const source = (length: string) =>
  `SELECT i AS k, json_build_object('k', i, 'text', repeat('é', ${length}))::text AS doc FROM generate_series(1, $1::int) AS i`;

describe('readDocs on the Data API', () => {
  it('reads a few small docs in one statement', async () => {
    const { db, statements } = counting();
    const docs = await readDocs(db, source('10'), [5], ['k']);
    expect(docs.map((d) => JSON.parse(d).k)).toEqual([1, 2, 3, 4, 5]);
    expect(statements()).toBe(1);
  });

  it('reads back whole docs far longer than a row may be, over several reads', async () => {
    const { db, statements } = counting();
    // 3 docs of 200,000 two-byte characters: each 400 KB, over the 64 KB row limit and together over 1 MiB.
    const docs = await readDocs(db, source('200000'), [3], ['k']);
    expect(docs).toHaveLength(3);
    for (const [i, d] of docs.entries()) {
      const parsed = JSON.parse(d);
      expect(parsed.k).toBe(i + 1);
      expect(parsed.text).toHaveLength(200_000);
    }
    expect(statements()).toBeGreaterThan(1);
  });

  it('reads more docs than one read takes, in key order, none twice', async () => {
    const docs = await readDocs(counting().db, source('(i % 3)'), [4500], ['k']);
    expect(docs.map((d) => JSON.parse(d).k)).toEqual(Array.from({ length: 4500 }, (_, i) => i + 1));
  });

  it('reads nothing from an empty source', async () => {
    expect(await readDocs(counting().db, source('1'), [0], ['k'])).toEqual([]);
  });
});
