/**
 * A minimal parquet writer for the upload_parquet replay: string, binary and
 * image (struct) columns, one row group, one PLAIN data page per column
 * (uncompressed, or gzip as the notebook writes it). It stands
 * in for `datasets`' to_parquet of a Hugging Face download (no internet, and
 * no parquet writer among the project's packages). Layout and Thrift compact
 * encoding as in apache/parquet-format's parquet.thrift.
 */
import { gzipSync } from 'node:zlib';

class Compact {
  bytes: number[] = [];
  private last: number[] = [0];

  varint(n: bigint): void {
    let v = n;
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v) b |= 0x80;
      this.bytes.push(b);
    } while (v);
  }
  private zigzag(n: number | bigint): bigint {
    const v = BigInt(n);
    return v >= 0n ? v << 1n : (-v << 1n) - 1n;
  }
  field(id: number, type: number): void {
    const delta = id - this.last[this.last.length - 1];
    this.last[this.last.length - 1] = id;
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.varint(this.zigzag(id));
    }
  }
  i32(id: number, v: number): void {
    this.field(id, 5);
    this.varint(this.zigzag(v));
  }
  i64(id: number, v: number): void {
    this.field(id, 6);
    this.varint(this.zigzag(v));
  }
  binary(id: number | undefined, s: string): void {
    if (id !== undefined) this.field(id, 8);
    const b = Buffer.from(s);
    this.varint(BigInt(b.length));
    this.bytes.push(...b);
  }
  struct(id: number | undefined, body: () => void): void {
    if (id !== undefined) this.field(id, 12);
    this.last.push(0);
    body();
    this.bytes.push(0);
    this.last.pop();
  }
  list(id: number, elemType: number, items: (() => void)[]): void {
    this.field(id, 9);
    this.bytes.push(items.length < 15 ? (items.length << 4) | elemType : 0xf0 | elemType);
    if (items.length >= 15) this.varint(BigInt(items.length));
    for (const item of items) item();
  }
}

const BYTE_ARRAY = 6;
const UTF8 = 0;

/** Hugging Face's Image feature as `datasets` saves it: a struct of the file's bytes and its path. */
export interface ImageCell {
  bytes: Uint8Array;
  path: string;
}

export type ParquetColumn = string[] | Uint8Array[] | ImageCell[];

interface Leaf {
  path: string[];
  values: Uint8Array[];
  utf8: boolean;
}

const isImage = (v: unknown): v is ImageCell => typeof v === 'object' && v !== null && 'bytes' in v && 'path' in v;

function leavesOf(name: string, column: ParquetColumn): Leaf[] {
  const values = column as unknown[];
  if (values.every(isImage)) {
    return [
      { path: [name, 'bytes'], values: values.map((v) => (v as ImageCell).bytes), utf8: false },
      { path: [name, 'path'], values: values.map((v) => Buffer.from((v as ImageCell).path)), utf8: true },
    ];
  }
  if (values.every((v) => typeof v === 'string')) return [{ path: [name], values: values.map((v) => Buffer.from(v as string)), utf8: true }];
  return [{ path: [name], values: values as Uint8Array[], utf8: false }];
}

/** A parquet file whose columns are the given equal-length string arrays. */
export function stringParquet(columns: Record<string, string[]>): Uint8Array {
  return parquetFile(columns);
}

/**
 * A parquet file of required columns: strings (UTF8), raw bytes (unannotated
 * BYTE_ARRAY) or images (a struct of `bytes` and `path`, as Hugging Face
 * writes its Image feature).
 */
export function parquetFile(columns: Record<string, ParquetColumn>, options: { gzip?: boolean } = {}): Uint8Array {
  const names = Object.keys(columns);
  const rows = columns[names[0]].length;
  const parts: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const chunks: { path: string[]; offset: number; size: number; rawSize: number }[] = [];
  const fields = names.map((name) => ({ name, leaves: leavesOf(name, columns[name]) }));
  for (const leaf of fields.flatMap((f) => f.leaves)) {
    const data = Buffer.concat(leaf.values.map((b) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, Buffer.from(b)]);
    }));
    // As datasets' to_parquet(..., compression="gzip") in Evalap's notebook.
    const stored = options.gzip ? gzipSync(data) : data;
    const header = new Compact();
    header.struct(undefined, () => {
      header.i32(1, 0); // DATA_PAGE
      header.i32(2, data.length);
      header.i32(3, stored.length);
      header.struct(5, () => {
        header.i32(1, rows);
        header.i32(2, 0); // PLAIN
        header.i32(3, 3); // RLE
        header.i32(4, 3);
      });
    });
    const page = Buffer.concat([Buffer.from(header.bytes), stored]);
    chunks.push({ path: leaf.path, offset, size: page.length, rawSize: header.bytes.length + data.length });
    parts.push(page);
    offset += page.length;
  }
  const leafElement = (name: string, utf8: boolean) => () => meta.struct(undefined, () => {
    meta.i32(1, BYTE_ARRAY);
    meta.i32(3, 0); // REQUIRED
    meta.binary(4, name);
    if (utf8) meta.i32(6, UTF8);
  });
  const meta = new Compact();
  meta.struct(undefined, () => {
    meta.i32(1, 1);
    meta.list(2, 12, [
      () => meta.struct(undefined, () => {
        meta.binary(4, 'schema');
        meta.i32(5, names.length);
      }),
      ...fields.flatMap((f) => f.leaves.length === 1 && f.leaves[0].path.length === 1
        ? [leafElement(f.name, f.leaves[0].utf8)]
        : [
          () => meta.struct(undefined, () => {
            meta.i32(3, 0); // REQUIRED group
            meta.binary(4, f.name);
            meta.i32(5, f.leaves.length);
          }),
          ...f.leaves.map((l) => leafElement(l.path[l.path.length - 1], l.utf8)),
        ]),
    ]);
    meta.i64(3, rows);
    meta.list(4, 12, [
      () => meta.struct(undefined, () => {
        meta.list(1, 12, chunks.map((c) => () => meta.struct(undefined, () => {
          meta.i64(2, c.offset);
          meta.struct(3, () => {
            meta.i32(1, BYTE_ARRAY);
            meta.list(2, 5, [() => meta.varint(0n)]);
            meta.list(3, 8, c.path.map((p) => () => meta.binary(undefined, p)));
            meta.i32(4, options.gzip ? 2 : 0); // GZIP or UNCOMPRESSED
            meta.i64(5, rows);
            meta.i64(6, c.rawSize);
            meta.i64(7, c.size);
            meta.i64(9, c.offset);
          });
        })));
        meta.i64(2, chunks.reduce((n, c) => n + c.size, 0));
        meta.i64(3, rows);
      }),
    ]);
  });
  const footer = Buffer.from(meta.bytes);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(footer.length);
  parts.push(footer, len, Buffer.from('PAR1'));
  return new Uint8Array(Buffer.concat(parts));
}
