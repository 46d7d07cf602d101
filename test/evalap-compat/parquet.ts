/**
 * A minimal parquet writer for the upload_parquet replay: string columns
 * only, one row group, one uncompressed PLAIN data page per column. It stands
 * in for `datasets`' to_parquet of a Hugging Face download (no internet, and
 * no parquet writer among the project's packages). Layout and Thrift compact
 * encoding as in apache/parquet-format's parquet.thrift.
 */

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

/** A parquet file whose columns are the given equal-length string arrays. */
export function stringParquet(columns: Record<string, string[]>): Uint8Array {
  const names = Object.keys(columns);
  const rows = columns[names[0]].length;
  const parts: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const chunks: { name: string; offset: number; size: number }[] = [];
  for (const name of names) {
    const data = Buffer.concat(columns[name].map((v) => {
      const b = Buffer.from(v);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    }));
    const header = new Compact();
    header.struct(undefined, () => {
      header.i32(1, 0); // DATA_PAGE
      header.i32(2, data.length);
      header.i32(3, data.length);
      header.struct(5, () => {
        header.i32(1, rows);
        header.i32(2, 0); // PLAIN
        header.i32(3, 3); // RLE
        header.i32(4, 3);
      });
    });
    const page = Buffer.concat([Buffer.from(header.bytes), data]);
    chunks.push({ name, offset, size: page.length });
    parts.push(page);
    offset += page.length;
  }
  const meta = new Compact();
  meta.struct(undefined, () => {
    meta.i32(1, 1);
    meta.list(2, 12, [
      () => meta.struct(undefined, () => {
        meta.binary(4, 'schema');
        meta.i32(5, names.length);
      }),
      ...names.map((name) => () => meta.struct(undefined, () => {
        meta.i32(1, BYTE_ARRAY);
        meta.i32(3, 0); // REQUIRED
        meta.binary(4, name);
        meta.i32(6, UTF8);
      })),
    ]);
    meta.i64(3, rows);
    meta.list(4, 12, [
      () => meta.struct(undefined, () => {
        meta.list(1, 12, chunks.map((c) => () => meta.struct(undefined, () => {
          meta.i64(2, c.offset);
          meta.struct(3, () => {
            meta.i32(1, BYTE_ARRAY);
            meta.list(2, 5, [() => meta.varint(0n)]);
            meta.list(3, 8, [() => meta.binary(undefined, c.name)]);
            meta.i32(4, 0); // UNCOMPRESSED
            meta.i64(5, rows);
            meta.i64(6, c.size);
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
