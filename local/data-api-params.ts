/**
 * Request validation and parameter binding, as the Data API does them.
 *
 * Field limits and enums are the API reference's (docs.aws.amazon.com/rdsdataservice/
 * latest/APIReference: resourceArn and secretArn 11..100 characters, database and
 * schema 0..64, transactionId 0..192, sql 0..65536). Parameters are bound as typed
 * values, never as untyped literals: stringValue is a varchar, longValue a bigint,
 * doubleValue a double precision, booleanValue a boolean, blobValue a bytea, and a
 * typeHint names the type a string is sent as (data-api-operations: "Certain types,
 * such as DECIMAL and TIME, require a hint so that Data API passes String values to
 * the database as the correct type"). So `INSERT INTO t (jsonb_col) VALUES (:s)` fails
 * on a stringValue as it does on AWS, and clients cast (`:s::jsonb`) or hint (JSON):
 * jeremydaly/data-api-client src/params.ts appends `::jsonb` for exactly this reason.
 * isNull is sent with no type, so PostgreSQL infers it from where it is used.
 */
import { refused, serialization, validation } from './data-api-errors.js';

export interface Binding {
  name: string;
  /** The parameter's type OID (0: let PostgreSQL infer it). */
  oid: number;
  value: string | Buffer | null;
}

const OID = { bool: 16, bytea: 17, int8: 20, json: 114, float8: 701, varchar: 1043, date: 1082, time: 1083, timestamp: 1114, numeric: 1700, uuid: 2950 };

/** API reference, SqlParameter.typeHint, with the accepted string formats it documents. */
const TYPE_HINTS: Record<string, { oid: number; format?: RegExp; shape?: string }> = {
  DATE: { oid: OID.date, format: /^\d{4}-\d{2}-\d{2}$/, shape: 'YYYY-MM-DD' },
  TIME: { oid: OID.time, format: /^\d{2}:\d{2}:\d{2}(\.\d{1,9})?$/, shape: 'HH:MM:SS[.FFF]' },
  TIMESTAMP: { oid: OID.timestamp, format: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$/, shape: 'YYYY-MM-DD HH:MM:SS[.FFF]' },
  DECIMAL: { oid: OID.numeric },
  JSON: { oid: OID.json },
  UUID: { oid: OID.uuid },
};

type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Collects AWS-style validation problems for one request. */
export class Checks {
  readonly problems: string[] = [];

  /** A string member: wrong JSON types are a SerializationException, as AWS answers them. */
  string(body: Json, key: string, opts: { required?: boolean; min?: number; max?: number; oneOf?: string[]; at?: string } = {}): string | undefined {
    const v = body[key];
    const path = opts.at ?? key;
    if (v === undefined || v === null) {
      if (opts.required) this.problems.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    if (typeof v !== 'string') throw serialization(`Unexpected value type for '${path}': expected a string`);
    const shown = v.length > 40 ? `${v.slice(0, 40)}...` : v;
    if (opts.min !== undefined && v.length < opts.min)
      this.problems.push(`Value '${shown}' at '${path}' failed to satisfy constraint: Member must have length greater than or equal to ${opts.min}`);
    if (opts.max !== undefined && v.length > opts.max)
      this.problems.push(`Value '${shown}' at '${path}' failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`);
    if (opts.oneOf && !opts.oneOf.includes(v))
      this.problems.push(`Value '${shown}' at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${opts.oneOf.join(', ')}]`);
    return v;
  }

  boolean(body: Json, key: string): boolean {
    const v = body[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw serialization(`Unexpected value type for '${key}': expected a boolean`);
    return v;
  }

  object(body: Json, key: string): Json | undefined {
    const v = body[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) throw serialization(`Unexpected value type for '${key}': expected an object`);
    return v;
  }

  done(): void {
    if (this.problems.length) throw validation(this.problems);
  }
}

/** The members every operation shares; the v2 Data API rejects `schema` outright. */
export function checkCommon(checks: Checks, body: Json): { secretArn: string } {
  checks.string(body, 'resourceArn', { required: true, min: 11, max: 100 });
  const secretArn = checks.string(body, 'secretArn', { required: true, min: 11, max: 100 }) ?? '';
  checks.string(body, 'database', { max: 64 });
  // data-api.troubleshooting, "Schema parameter isn't supported": Serverless v2 and
  // provisioned clusters "explicitly reject API calls that include the schema parameter".
  if (checks.string(body, 'schema', { max: 64 }) !== undefined) throw refused("Schema parameter isn't supported");
  return { secretArn };
}

/** One parameter set (a list of SqlParameter) as bindings by name. */
export function bindParameters(raw: unknown, where: string): Map<string, Binding> {
  if (raw === undefined || raw === null) return new Map();
  if (!Array.isArray(raw)) throw serialization(`Unexpected value type for '${where}': expected a list`);
  const out = new Map<string, Binding>();
  raw.forEach((p, i) => {
    const at = `${where}.${i + 1}.member`;
    if (!isObject(p)) throw serialization(`Unexpected value type for '${at}': expected an object`);
    const checks = new Checks();
    const name = checks.string(p, 'name', { required: true, at: `${at}.name` });
    const hint = checks.string(p, 'typeHint', { oneOf: Object.keys(TYPE_HINTS), at: `${at}.typeHint` });
    const value = checks.object(p, 'value');
    if (!value) checks.problems.push(`Value null at '${at}.value' failed to satisfy constraint: Member must not be null`);
    checks.done();
    out.set(name!, { name: name!, ...field(value!, hint, `${at}.value`) });
  });
  return out;
}

function field(value: Json, hint: string | undefined, at: string): { oid: number; value: string | Buffer | null } {
  const members = Object.keys(value).filter((k) => value[k] !== undefined && value[k] !== null);
  if (members.length !== 1) throw serialization(`'${at}' must set exactly one member of the Field union, got ${members.length}`);
  const [member] = members;
  const v = value[member];
  const wrong = (type: string) => serialization(`Unexpected value type for '${at}.${member}': expected ${type}`);
  switch (member) {
    case 'isNull':
      if (v !== true) throw refused(`'${at}.isNull' must be true to send a NULL`);
      return { oid: 0, value: null };
    case 'booleanValue':
      if (typeof v !== 'boolean') throw wrong('a boolean');
      return { oid: OID.bool, value: String(v) };
    case 'longValue':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw wrong('an integer');
      return { oid: OID.int8, value: BigInt(v).toString() };
    case 'doubleValue':
      // Smithy JSON carries non-finite doubles as these strings.
      if (typeof v === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(v)) return { oid: OID.float8, value: v };
      if (typeof v !== 'number') throw wrong('a number');
      return { oid: OID.float8, value: String(v) };
    case 'blobValue':
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw wrong('base64 data');
      return { oid: OID.bytea, value: Buffer.from(v, 'base64') };
    case 'stringValue': {
      if (typeof v !== 'string') throw wrong('a string');
      if (!hint) return { oid: OID.varchar, value: v };
      const spec = TYPE_HINTS[hint];
      if (spec.format && !spec.format.test(v)) throw refused(`The value of '${at}.stringValue' doesn't match the ${hint} type hint's format ${spec.shape}`);
      return { oid: spec.oid, value: v };
    }
    case 'arrayValue':
      // API reference, ExecuteStatement.parameters: "Array parameters are not supported."
      // The error as jeremydaly/data-api-client's README reports it from AWS.
      throw refused('Array parameters are not supported.');
    default:
      throw serialization(`Unknown member '${member}' of the Field union at '${at}'`);
  }
}
