/**
 * Reads and writes that can be large (a dataset's rows, an experiment's
 * answers and observations), shaped so they fit every backend's limits. A
 * `pg` connection has none that matter here; the RDS Data API takes requests
 * of at most 4 MiB, answers at most 1 MiB and refuses result rows over
 * 64 KB (Aurora User Guide, "Limits for the Amazon RDS Data API").
 */
import type { Db } from './db.js';

/** JSON text per statement when writing in slices: 1 MiB, so even a request that escapes every character of it stays under 4 MiB. */
const WRITE_BYTES = 1 << 20;
/** Text per Data API read: well under the 1 MiB response limit once JSON-escaped. */
const READ_BUDGET = 256 * 1024;
/** Docs per Data API read, at most. */
const DOCS_PER_READ = 2000;
/** Characters per piece of a long value: at most 4 bytes each, so a piece stays far below the 64 KB row limit. */
const PIECE = 8000;

/** `items` in consecutive slices of at most `maxCount` items and (except a single oversized item) `maxBytes` of JSON. */
export function* jsonSlices<T>(items: readonly T[], maxCount: number, maxBytes = WRITE_BYTES): Generator<{ offset: number; json: string }> {
  let start = 0;
  let parts: string[] = [];
  let bytes = 2;
  for (let i = 0; i < items.length; i++) {
    const text = JSON.stringify(items[i] ?? null);
    const size = Buffer.byteLength(text) + 1;
    if (parts.length && (parts.length >= maxCount || bytes + size > maxBytes)) {
      yield { offset: start, json: `[${parts.join(',')}]` };
      start = i;
      parts = [];
      bytes = 2;
    }
    parts.push(text);
    bytes += size;
  }
  if (parts.length) yield { offset: start, json: `[${parts.join(',')}]` };
}

/**
 * The `doc` column of `source` (a SELECT of text `doc` and the key columns
 * `keys`, unique together), in key order. On `pg` one statement; on the Data
 * API in pages of about READ_BUDGET bytes, each long doc cut into pieces.
 * `source`'s own parameters are `$1`…`$n`, given in `params`.
 */
export async function readDocs(db: Db, source: string, params: unknown[], keys: readonly string[]): Promise<string[]> {
  const order = keys.join(', ');
  if (db.kind !== 'data-api') {
    const { rows } = await db.query<{ doc: string }>(`SELECT doc FROM (${source}) src ORDER BY ${order}`, params);
    return rows.map((r) => r.doc);
  }
  const n = params.length;
  const afterKeys = keys.map((_, i) => `$${n + 2 + i}::bigint`).join(', ');
  const afterPiece = `$${n + 2 + keys.length}::int`;
  // Pages are cut between pieces, so one huge doc spans several pages too.
  const sql = `
    WITH docs AS (
      SELECT ${order}, doc FROM (${source}) src
      WHERE $${n + 1}::boolean OR (${order}) >= (${afterKeys})
      ORDER BY ${order} LIMIT ${DOCS_PER_READ}),
    pieces AS (
      SELECT ${order}, i AS piece, (length(doc) - 1) / ${PIECE} AS last, substr(doc, i * ${PIECE} + 1, ${PIECE}) AS part
      FROM docs, generate_series(0, greatest(length(doc) - 1, 0) / ${PIECE}) AS i
      WHERE $${n + 1}::boolean OR (${order}, i) > (${afterKeys}, ${afterPiece})),
    page AS (
      SELECT *, sum(octet_length(part)) OVER (ORDER BY ${order}, piece) - octet_length(part) AS before FROM pieces)
    SELECT ${order}, piece, last, part, (SELECT count(*) FROM pieces)::int AS pieces_left, (SELECT count(*) FROM docs)::int AS docs_read
    FROM page WHERE before < ${READ_BUDGET} ORDER BY ${order}, piece`;
  const docs: string[] = [];
  let cursor: unknown[] | undefined;
  let pieces: string[] = [];
  for (;;) {
    const { rows } = await db.query<Record<string, any>>(sql, [...params, cursor === undefined, ...(cursor ?? [...keys.map(() => 0), 0])]);
    if (!rows.length) return docs;
    for (const row of rows) {
      pieces.push(row.part ?? '');
      if (row.piece >= Math.max(row.last, 0)) {
        docs.push(pieces.join(''));
        pieces = [];
      }
      cursor = [...keys.map((k) => row[k]), row.piece];
    }
    // Every piece of a short read came back: asking again would run the source once more to find nothing.
    if (rows.length === rows[0].pieces_left && rows[0].docs_read < DOCS_PER_READ) return docs;
  }
}
