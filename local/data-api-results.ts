/**
 * PostgreSQL rows (as PostgreSQL's text output, session time zone UTC) into the
 * Data API's result shapes: typed Field records with columnMetadata, or the
 * formattedRecords JSON string.
 *
 * Field per type (data-api-operations, "maps JDBC data types to the data types that
 * you specify in Data API calls"): integers longValue, floats doubleValue, DECIMAL
 * stringValue, booleans booleanValue, binary blobValue, everything else stringValue;
 * arrays arrayValue, multidimensional ones refused (UnsupportedResultException, "It
 * contained a multidimensional array", in the SDK's model). resultSetOptions can ask
 * for longs as strings and decimals as numbers (API reference, ResultSetOptions).
 */
import type pg from 'pg';
import { internalError, unsupportedResult } from './data-api-errors.js';
import { type ColumnType, type Kind, isCaseSensitive, isSigned, jdbcType, precisionScale } from './data-api-types.js';

export type Field = Record<string, unknown>;

export interface ResultOptions {
  longAsString: boolean;
  decimalAsNumber: boolean;
  /** data-api.limitations: "The Data API size limit is 64 KB per row in the result set". */
  maxRowBytes: number;
}

type Cell = string | null;
type Nested = (string | null | Nested)[];

/** Checks that every column is a type the Data API returns and every row fits its limit. */
export function checkResult(rows: Cell[][], types: ColumnType[], maxRowBytes: number): void {
  for (const t of types) if (!t.kind) throw unsupportedResult(`The result contains the unsupported data type ${t.name}.`);
  for (const row of rows) {
    let bytes = 0;
    for (const cell of row) if (cell !== null) bytes += Buffer.byteLength(cell);
    // Troubleshooting guide, "Packet for query is too large": a row over 64 KB.
    if (bytes > maxRowBytes) throw unsupportedResult('Packet for query is too large');
  }
}

export function toRecords(rows: Cell[][], types: ColumnType[], options: ResultOptions): Field[][] {
  return rows.map((row) => row.map((cell, i) => toField(cell, types[i], options)));
}

function toField(cell: Cell, type: ColumnType, o: ResultOptions): Field {
  if (cell === null) return { isNull: true };
  switch (type.kind) {
    case 'long':
      return o.longAsString ? { stringValue: cell } : { longValue: Number(cell) };
    case 'double':
      return { doubleValue: toDouble(cell) };
    case 'decimal':
      return o.decimalAsNumber ? (/^-?\d+$/.test(cell) ? { longValue: Number(cell) } : { doubleValue: toDouble(cell) }) : { stringValue: cell };
    case 'bool':
      return { booleanValue: cell === 't' };
    case 'blob':
      return { blobValue: fromHex(cell).toString('base64') };
    case 'array':
      return { arrayValue: toArrayValue(parseArray(cell), type.element!) };
    default:
      return { stringValue: text(cell, type) };
  }
}

/** Smithy JSON's spelling of the doubles JSON has no number for. */
function toDouble(cell: string): number | string {
  if (cell === 'NaN') return 'NaN';
  if (cell === 'Infinity' || cell === '-Infinity') return cell;
  return Number(cell);
}

function text(cell: string, type: ColumnType): string {
  // The service answers an infinite date or timestamp with an InternalServerErrorException
  // carrying no message (observed and worked around in the pgwire proxy whose error
  // mapping cites it: "the Aurora Data API fails this way when a result contains an
  // infinite timestamp or date").
  if ((cell === 'infinity' || cell === '-infinity') && ['date', 'timestamp', 'timestamptz'].includes(type.name)) throw internalError();
  return type.kind === 'timestamptz' ? utc(cell) : cell;
}

/** data-api-operations: "Data API always returns ... TIMESTAMPTZ in UTC time zone", as `YYYY-MM-DD HH:MM:SS[.FFFFFF]`. */
const utc = (cell: string): string => cell.replace(/\+00$/, '');

const fromHex = (cell: string): Buffer => Buffer.from(cell.startsWith('\\x') ? cell.slice(2) : cell, 'hex');

function toArrayValue(items: Nested, element: Kind): Field {
  if (items.some((x) => Array.isArray(x))) throw unsupportedResult('The result contains a multidimensional array, which the Data API does not support.');
  const flat = items as Cell[];
  switch (element) {
    case 'long':
      return { longValues: flat.map((x) => (x === null ? null : Number(x))) };
    case 'double':
      return { doubleValues: flat.map((x) => (x === null ? null : toDouble(x))) };
    case 'bool':
      return { booleanValues: flat.map((x) => (x === null ? null : x === 't' || x === '1')) };
    case 'timestamptz':
      return { stringValues: flat.map((x) => (x === null ? null : utc(x))) };
    default:
      return { stringValues: flat };
  }
}

/** PostgreSQL's array output: `{a,"b c",NULL,{1,2}}`, optionally prefixed by bounds (`[0:1]=`). */
export function parseArray(literal: string): Nested {
  let i = literal.startsWith('[') ? literal.indexOf('=') + 1 : 0;
  const read = (): Nested => {
    const out: Nested = [];
    i++; // '{'
    if (literal[i] === '}') return (i++, out);
    for (;;) {
      if (literal[i] === '{') out.push(read());
      else if (literal[i] === '"') {
        let s = '';
        i++;
        while (literal[i] !== '"') {
          if (literal[i] === '\\') i++;
          s += literal[i++];
        }
        i++;
        out.push(s);
      } else {
        const start = i;
        while (literal[i] !== ',' && literal[i] !== '}') i++;
        const raw = literal.slice(start, i);
        out.push(raw === 'NULL' ? null : raw);
      }
      if (literal[i++] === '}') return out;
    }
  };
  return read();
}

/** formatRecordsAs JSON (data-api-json, "Data Type Mapping"): one object per row, keyed by column label. */
export function toFormattedRecords(rows: Cell[][], fields: pg.FieldDef[], types: ColumnType[], o: ResultOptions): string {
  const labels = fields.map((f) => f.name);
  // data-api-json, Troubleshooting: duplicate keys aren't allowed, and the Data API returns an error.
  const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
  if (duplicate !== undefined) throw unsupportedResult(`The result set has more than one column labelled "${duplicate}"; JSON records need unique column labels.`);
  const jsonValue = (cell: Cell, type: ColumnType): unknown => {
    if (cell === null) return null;
    switch (type.kind) {
      case 'long':
        return o.longAsString ? cell : Number(cell);
      case 'double':
        return toDouble(cell);
      case 'decimal':
        return o.decimalAsNumber ? toDouble(cell) : cell;
      case 'bool':
        return cell === 't';
      case 'blob':
        return fromHex(cell).toString('base64');
      case 'array': {
        const arrayType: ColumnType = { oid: 0, name: type.elementName ?? '', kind: type.element };
        const items = parseArray(cell);
        if (items.some((x) => Array.isArray(x))) throw unsupportedResult('The result contains a multidimensional array, which the Data API does not support.');
        return (items as Cell[]).map((x) => jsonValue(x, arrayType));
      }
      default:
        return text(cell, type);
    }
  };
  return JSON.stringify(rows.map((row) => Object.fromEntries(row.map((cell, i) => [labels[i], jsonValue(cell, types[i])]))));
}

interface AttributeRow {
  rel: number;
  num: number;
  notnull: boolean;
  serial: boolean;
  relname: string;
}

/** columnMetadata as the service's JDBC driver describes a result set. */
export async function columnMetadata(client: pg.PoolClient, fields: pg.FieldDef[], types: ColumnType[]): Promise<Field[]> {
  const tables = [...new Set(fields.filter((f) => f.tableID).map((f) => f.tableID))];
  const attributes = new Map<string, AttributeRow>();
  if (tables.length) {
    const { rows } = await client.query<AttributeRow>(
      `SELECT a.attrelid::int AS rel, a.attnum::int AS num, a.attnotnull AS notnull, c.relname,
              (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%') AS serial
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0`,
      [tables],
    );
    for (const r of rows) attributes.set(`${r.rel}:${r.num}`, r);
  }
  return fields.map((f, i) => {
    const type = types[i];
    const attribute = attributes.get(`${f.tableID}:${f.columnID}`);
    return {
      name: f.name,
      label: f.name,
      type: jdbcType(type.name),
      typeName: type.name,
      schemaName: '',
      tableName: attribute?.relname ?? '',
      isAutoIncrement: attribute?.serial ?? false,
      isSigned: isSigned(type.name),
      isCurrency: type.name === 'money',
      isCaseSensitive: isCaseSensitive(type.name),
      nullable: attribute?.notnull ? 0 : 1,
      ...precisionScale(type.name, f.dataTypeModifier),
      arrayBaseColumnType: type.element ? jdbcType(type.elementName ?? '') : 0,
    };
  });
}
