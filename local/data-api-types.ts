/**
 * Which PostgreSQL types the Data API returns, and how: the result side's type table.
 *
 * Supported types are data-api-operations' lists ("RDS Data API supports following
 * Aurora PostgreSQL scalar types" / "array types"), plus what clients see working on
 * Serverless v2 beyond them: TIMESTAMPTZ (the same page: "Data API always returns ...
 * TIMESTAMPTZ in UTC time zone"), TIME WITH TIME ZONE, JSONB[], INT4RANGE and NUMRANGE
 * (jeremydaly/data-api-client integration-tests/postgres.int.test.ts, run against a
 * Serverless v2 cluster). Anything else is an UnsupportedResultException
 * (data-api.troubleshooting, "Unsupported result exception": cast it to TEXT), as
 * INTERVAL, MACADDR, DATERANGE and TSRANGE are on AWS.
 */
import type pg from 'pg';

/** How a value travels in a Field. */
export type Kind = 'long' | 'double' | 'decimal' | 'bool' | 'blob' | 'string' | 'timestamptz' | 'array';

export interface ColumnType {
  oid: number;
  /** PostgreSQL's name, as columnMetadata.typeName gives it: int4, _text, jsonb... */
  name: string;
  /** Undefined: not a type the Data API returns. */
  kind?: Kind;
  /** Arrays: the kind of their elements. */
  element?: Kind;
  elementName?: string;
}

const SCALARS: Record<string, Kind> = {
  int2: 'long', int4: 'long', int8: 'long',
  float4: 'double', float8: 'double',
  numeric: 'decimal',
  bool: 'bool',
  bytea: 'blob',
  timestamptz: 'timestamptz',
  text: 'string', varchar: 'string', bpchar: 'string', name: 'string',
  date: 'string', time: 'string', timetz: 'string', timestamp: 'string',
  json: 'string', jsonb: 'string', uuid: 'string', inet: 'string', cidr: 'string', vector: 'string',
  int4range: 'string', numrange: 'string',
};

const ELEMENTS: Record<string, Kind> = {
  int2: 'long', int4: 'long', int8: 'long',
  float4: 'double', float8: 'double',
  bool: 'bool', bit: 'bool',
  numeric: 'string',
  text: 'string', varchar: 'string', bpchar: 'string', name: 'string',
  date: 'string', time: 'string', timestamp: 'string', timestamptz: 'timestamptz',
  json: 'string', jsonb: 'string', uuid: 'string',
};

/** java.sql.Types codes, as the JDBC driver behind the service reports them in columnMetadata.type. */
const JDBC: Record<string, number> = {
  int2: 5, int4: 4, int8: -5, float4: 7, float8: 8, numeric: 2, bool: -7, bit: -7, bytea: -2,
  text: 12, varchar: 12, name: 12, bpchar: 1, date: 91, time: 92, timetz: 92, timestamp: 93, timestamptz: 93,
};
export const jdbcType = (name: string): number => (name.startsWith('_') ? 2003 : (JDBC[name] ?? 1111));

interface TypeRow {
  oid: number;
  typname: string;
  typtype: string;
  elem: string | null;
  elemtype: string | null;
}

/** Type OIDs are per database (enums, extensions): one cache per database name. */
export class TypeCatalog {
  private readonly byDatabase = new Map<string, Map<number, ColumnType>>();

  async resolve(client: pg.PoolClient, database: string, oids: number[]): Promise<Map<number, ColumnType>> {
    let known = this.byDatabase.get(database);
    if (!known) this.byDatabase.set(database, (known = new Map()));
    const missing = [...new Set(oids)].filter((o) => !known!.has(o));
    if (missing.length) {
      const { rows } = await client.query<TypeRow>(
        `SELECT t.oid::int AS oid, t.typname, t.typtype, e.typname AS elem, e.typtype AS elemtype
           FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
          WHERE t.oid = ANY($1::oid[])`,
        [missing],
      );
      for (const r of rows) known.set(r.oid, describe(r));
    }
    return new Map(oids.map((o) => [o, known!.get(o) ?? { oid: o, name: String(o) }]));
  }
}

function describe(r: TypeRow): ColumnType {
  if (r.elem) {
    const element = r.elemtype === 'e' ? 'string' : ELEMENTS[r.elem];
    return { oid: r.oid, name: r.typname, kind: element ? 'array' : undefined, element, elementName: r.elem };
  }
  // Enums come back as their label (data-api-operations lists ENUM).
  return { oid: r.oid, name: r.typname, kind: r.typtype === 'e' ? 'string' : SCALARS[r.typname] };
}

const CASE_INSENSITIVE = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'bool', 'bit', 'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'oid']);
const SIGNED = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'money']);
const UNBOUNDED = 2147483647;

/** precision and scale as the PostgreSQL JDBC driver derives them from the type and its modifier. */
export function precisionScale(name: string, typmod: number): { precision: number; scale: number } {
  switch (name) {
    case 'int2': return { precision: 5, scale: 0 };
    case 'int4': return { precision: 10, scale: 0 };
    case 'int8': return { precision: 19, scale: 0 };
    case 'float4': return { precision: 8, scale: 8 };
    case 'float8': return { precision: 17, scale: 17 };
    case 'bool': return { precision: 1, scale: 0 };
    case 'date': return { precision: 13, scale: 0 };
    case 'time': return { precision: 15, scale: 6 };
    case 'timestamp': return { precision: 29, scale: 6 };
    case 'timestamptz': return { precision: 35, scale: 6 };
    case 'numeric': return typmod >= 4 ? { precision: ((typmod - 4) >> 16) & 0xffff, scale: (typmod - 4) & 0xffff } : { precision: 0, scale: 0 };
    case 'varchar':
    case 'bpchar': return { precision: typmod >= 4 ? typmod - 4 : UNBOUNDED, scale: 0 };
    default: return { precision: UNBOUNDED, scale: 0 };
  }
}

export const isCaseSensitive = (name: string): boolean => !CASE_INSENSITIVE.has(name);
export const isSigned = (name: string): boolean => SIGNED.has(name);
