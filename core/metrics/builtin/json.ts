/**
 * JSON outputs: whether the output parses as JSON (json_valid), and whether
 * it is valid against a JSON Schema (json_schema). Never throws on what a
 * model wrote: unparsable output scores 0 and says why in the observation.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { noParams } from '../params.js';
import type { InlineMetric } from '../types.js';

type SchemaDialect = 'draft-07' | '2019-09' | '2020-12';

const ajvOptions = {
  allErrors: true,
  strict: false, // unknown keywords are annotations, as the specification says
  validateFormats: false, // `format` is an annotation only (no ajv-formats here)
  addUsedSchema: false, // a schema's $id must not collide with another experiment's
  logger: false as const,
};

/**
 * Ajv keeps every function it compiles in its instance scope for good, so an
 * instance compiles at most AJV_COMPILES_PER_INSTANCE schemas and is then
 * replaced; an old instance is freed once the cache has dropped its validators.
 */
const AJV_COMPILES_PER_INSTANCE = 64;
let ajvInstances: Partial<Record<SchemaDialect, { ajv: Ajv | Ajv2019 | Ajv2020; compiles: number }>> = {};

function ajvFor(dialect: SchemaDialect): Ajv | Ajv2019 | Ajv2020 {
  let slot = ajvInstances[dialect];
  if (!slot || slot.compiles >= AJV_COMPILES_PER_INSTANCE) {
    const ajv = dialect === '2020-12' ? new Ajv2020(ajvOptions) : dialect === '2019-09' ? new Ajv2019(ajvOptions) : new Ajv(ajvOptions);
    slot = { ajv, compiles: 0 };
    ajvInstances[dialect] = slot;
  }
  slot.compiles += 1;
  return slot.ajv;
}

/** Which validator a schema's `$schema` asks for; a string for an unsupported one. */
function dialectOf(schema: unknown): SchemaDialect | { unsupported: string } {
  const declared = schema !== null && typeof schema === 'object' ? (schema as Record<string, unknown>).$schema : undefined;
  if (declared === undefined) return 'draft-07';
  if (typeof declared !== 'string') return { unsupported: '$schema must be a string' };
  if (/json-schema\.org\/draft\/2020-12\/schema/.test(declared)) return '2020-12';
  if (/json-schema\.org\/draft\/2019-09\/schema/.test(declared)) return '2019-09';
  // draft-06 is validated with draft-07 rules: draft-07 only added keywords
  // (if/then/else, readOnly, content*), which a draft-06 schema should not use.
  if (/json-schema\.org\/draft-0[67]\/schema/.test(declared)) return 'draft-07';
  return { unsupported: `unsupported $schema "${declared}" (use draft-07, 2019-09 or 2020-12)` };
}

type CompiledSchema = { validate: ValidateFunction; error?: undefined } | { validate?: undefined; error: string };

const SCHEMA_CACHE_SIZE = 64;
const schemaCache = new Map<string, CompiledSchema>();

function compileSchema(schema: unknown): CompiledSchema {
  if (typeof schema === 'boolean') schema = schema ? {} : { not: {} };
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return { error: 'invalid JSON Schema: a schema must be an object' };
  let key: string;
  try {
    key = JSON.stringify(schema);
  } catch (err) {
    return { error: `invalid JSON Schema: ${(err as Error).message}` };
  }
  const hit = schemaCache.get(key);
  if (hit) {
    schemaCache.delete(key); // refresh: the Map's order is least recently used first
    schemaCache.set(key, hit);
    return hit;
  }
  // Ajv gets a private copy (a caller mutating its object later cannot change
  // a cached validator) and forgets it once compiled: Ajv caches by identity.
  const copy = JSON.parse(key) as Record<string, unknown>;
  const dialect = dialectOf(copy);
  let entry: CompiledSchema;
  if (typeof dialect === 'object') {
    entry = { error: `invalid JSON Schema: ${dialect.unsupported}` };
  } else {
    const ajv = ajvFor(dialect);
    if (dialect === 'draft-07' && typeof copy.$schema === 'string' && copy.$schema.includes('draft-06')) delete copy.$schema;
    try {
      const validate = ajv.compile(copy);
      ajv.removeSchema(copy); // the compiled function keeps what it needs
      entry = { validate };
    } catch (err) {
      try {
        ajv.removeSchema(copy);
      } catch {
        /* nothing was registered */
      }
      entry = { error: `invalid JSON Schema: ${(err as Error).message}` };
    }
  }
  schemaCache.set(key, entry);
  if (schemaCache.size > SCHEMA_CACHE_SIZE) schemaCache.delete(schemaCache.keys().next().value as string);
  return entry;
}

/**
 * Checks a `json_schema` metric's params.schema: an error message when it is
 * not a usable JSON Schema (not an object, fails its meta-schema, unresolvable
 * $ref, unsupported $schema such as draft-04), undefined when it is fine.
 * Meant for param validation, e.g. a zod `.superRefine` that reports it.
 */
export function checkJsonSchema(schema: unknown): string | undefined {
  return compileSchema(schema).error;
}

/** The body of a ```json (or bare ```) fence when the whole output is one fenced block. */
function unfence(output: string): string | null {
  const m = /^```[ \t]*(?:json5?)?[ \t]*\r?\n([\s\S]*?)\r?\n?[ \t]*```$/i.exec(output.trim());
  return m ? m[1] : null;
}

const MAX_SCHEMA_ERRORS = 20;

/**
 * 1 when the output is JSON that the schema accepts, else 0. The output may be
 * wrapped in one ```json fenced block (and surrounding whitespace); prose
 * around the JSON makes it invalid. A bad schema never throws here (it should
 * have been refused by checkJsonSchema): it scores 0 with the schema error.
 */
export function jsonSchemaScore(output: string, schema: object): { score: 0 | 1; observation: { valid: boolean; errors?: string[] } } {
  const compiled = compileSchema(schema);
  if (compiled.error !== undefined) return { score: 0, observation: { valid: false, errors: [compiled.error] } };
  const text = typeof output === 'string' ? output.replace(/^\uFEFF/, '') : '';
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const inner = unfence(text);
    if (inner === null) return { score: 0, observation: { valid: false, errors: [`the output is not JSON: ${(err as Error).message}`] } };
    try {
      data = JSON.parse(inner);
    } catch (err2) {
      return { score: 0, observation: { valid: false, errors: [`the fenced block is not JSON: ${(err2 as Error).message}`] } };
    }
  }
  if (compiled.validate(data)) return { score: 1, observation: { valid: true } };
  const all = (compiled.validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`.trim());
  const errors = all.length > MAX_SCHEMA_ERRORS ? [...all.slice(0, MAX_SCHEMA_ERRORS), `… and ${all.length - MAX_SCHEMA_ERRORS} more`] : all;
  return { score: 0, observation: { valid: false, errors: errors.length > 0 ? errors : ['the output does not match the schema'] } };
}

/** For tests: forget compiled schemas and validator instances. */
export function resetJsonSchemaCache(): void {
  schemaCache.clear();
  ajvInstances = {};
}

/** For tests: how many compiled schemas are cached. */
export function jsonSchemaCacheSize(): number {
  return schemaCache.size;
}

export const jsonMetrics: readonly InlineMetric[] = [
  {
    name: 'json_valid',
    description: 'Whether the output parses as JSON.',
    type: 'deterministic',
    require: ['output'],
    params: noParams,
    range: [0, 1],
    higherIsBetter: true,
    score: (i) => {
      try {
        JSON.parse(i.output);
        return { score: 1, observation: null };
      } catch (err) {
        return { score: 0, observation: (err as Error).message };
      }
    },
  },
  {
    name: 'json_schema',
    description: 'Whether the output is JSON valid against the JSON Schema in params.schema.',
    type: 'deterministic',
    require: ['output'],
    params: z
      .object({
        schema: z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
          const problem = checkJsonSchema(schema);
          if (problem) ctx.addIssue({ code: 'custom', message: `not a valid JSON Schema: ${problem}` });
        }),
      })
      .strict(),
    range: [0, 1],
    higherIsBetter: true,
    score: (i, p) => jsonSchemaScore(i.output, p.schema),
  },
];
