import { checkJsonSchema, jsonSchemaCacheSize, jsonSchemaScore, resetJsonSchemaCache } from '../../core/metrics/builtin/json.js';

describe('jsonSchemaScore', () => {
  const person = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } }, required: ['name'], additionalProperties: false };

  beforeEach(() => resetJsonSchemaCache());

  it('scores 1 for JSON that the schema accepts', () => {
    expect(jsonSchemaScore('{"name": "Ada", "age": 36}', person)).toEqual({ score: 1, observation: { valid: true } });
  });

  it('tolerates one ```json fenced block around the JSON', () => {
    expect(jsonSchemaScore('```json\n{"name": "Ada"}\n```', person).score).toBe(1);
    expect(jsonSchemaScore('\n```\n{"name": "Ada"}\n```\n', person).score).toBe(1);
  });

  it('refuses prose around a fenced block', () => {
    const r = jsonSchemaScore('Here you go:\n```json\n{"name": "Ada"}\n```', person);
    expect(r.score).toBe(0);
    expect(r.observation.errors?.[0]).toMatch(/not JSON/);
  });

  it('scores 0 with every schema error for JSON the schema rejects', () => {
    const r = jsonSchemaScore('{"age": -1, "extra": true}', person);
    expect(r.score).toBe(0);
    expect(r.observation.valid).toBe(false);
    expect(r.observation.errors).toEqual(expect.arrayContaining([expect.stringMatching(/required property 'name'/), expect.stringMatching(/^\/age must be >= 0/), expect.stringMatching(/additional properties/)]));
  });

  it('scores 0 and explains when the output is not JSON', () => {
    for (const bad of ['', 'not json', '{"name": "Ada",}', '```json\n{oops}\n```']) {
      const r = jsonSchemaScore(bad, person);
      expect(r.score).toBe(0);
      expect(r.observation.errors?.[0]).toMatch(/not JSON/);
    }
  });

  it('validates scalars and unicode strings', () => {
    expect(jsonSchemaScore('"héllo 😀"', { type: 'string', maxLength: 7 }).score).toBe(1);
    expect(jsonSchemaScore('42', { type: 'string' }).score).toBe(0);
  });

  it('follows the dialect named by $schema (2020-12 prefixItems)', () => {
    const tuple = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'number' }, { type: 'string' }], items: false };
    expect(jsonSchemaScore('[1, "a"]', tuple).score).toBe(1);
    expect(jsonSchemaScore('[1, "a", 2]', tuple).score).toBe(0);
  });

  it('accepts two different schemas that share an $id', () => {
    expect(jsonSchemaScore('1', { $id: 'https://example.com/s', type: 'number' }).score).toBe(1);
    expect(jsonSchemaScore('"x"', { $id: 'https://example.com/s', type: 'string' }).score).toBe(1);
  });

  it('treats unknown keywords and formats as annotations', () => {
    expect(jsonSchemaScore('"not an email"', { type: 'string', format: 'email', example: 'a@b.c' }).score).toBe(1);
  });

  it('compiles each schema once and keeps a bounded cache', () => {
    jsonSchemaScore('1', { type: 'number' });
    jsonSchemaScore('2', { type: 'number' });
    expect(jsonSchemaCacheSize()).toBe(1);
    for (let i = 0; i < 200; i++) jsonSchemaScore('1', { type: 'number', maximum: i });
    expect(jsonSchemaCacheSize()).toBeLessThanOrEqual(64);
  });

  it('never throws for an invalid schema but scores 0 with the schema error', () => {
    const r = jsonSchemaScore('"x"', { type: 'strnig' });
    expect(r.score).toBe(0);
    expect(r.observation.errors?.[0]).toMatch(/invalid JSON Schema/);
  });
});

describe('checkJsonSchema', () => {
  it('accepts valid schemas', () => {
    expect(checkJsonSchema({ type: 'object', properties: { a: { type: 'string' } } })).toBeUndefined();
    expect(checkJsonSchema({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'string' })).toBeUndefined();
    expect(checkJsonSchema({ $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'string' })).toBeUndefined();
    expect(checkJsonSchema({})).toBeUndefined();
  });

  it('explains what is wrong with an invalid schema', () => {
    expect(checkJsonSchema({ type: 'strnig' })).toMatch(/^invalid JSON Schema: .*type/);
    expect(checkJsonSchema({ type: 'object', required: 'name' })).toMatch(/invalid JSON Schema/);
    expect(checkJsonSchema({ $ref: 'https://example.com/missing.json' })).toMatch(/invalid JSON Schema: .*resolve/);
    expect(checkJsonSchema({ $schema: 'http://json-schema.org/draft-04/schema#' })).toMatch(/unsupported \$schema/);
    expect(checkJsonSchema([] as unknown as object)).toMatch(/must be an object/);
    expect(checkJsonSchema(null as unknown as object)).toMatch(/must be an object/);
  });
});

