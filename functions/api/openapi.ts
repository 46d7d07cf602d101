/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod
 * schemas that validate requests. Schemas with an id become components.
 */
import { z } from 'zod';
import type { Route } from './http.js';

type JsonSchema = Record<string, any>;

export function openApiDocument(routes: readonly Route[]): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const generated = JSON.stringify(z.toJSONSchema(schema, { io, unrepresentable: 'any' }));
    // Schemas with an id come out as local $defs; in the document they are components.
    const out = JSON.parse(generated.replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
    const { $defs, $schema, ...rest } = out;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) components[id] ??= def;
    return rest;
  };
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const parameters: JsonSchema[] = [];
    for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
      if (!schema) continue;
      for (const [name, prop, required] of parametersOf(convert(schema, 'input'))) {
        parameters.push({ name, in: where, required: where === 'path' || required, schema: prop, ...(prop.description ? { description: prop.description } : {}) });
      }
    }
    const content: Record<string, JsonSchema> = {};
    if (route.body) content['application/json'] = { schema: convert(route.body, 'input') };
    for (const type of route.textBodies ?? []) content[type] = { schema: { type: 'string' } };
    // A file upload (upload_parquet): format binary is what makes Swagger UI offer a file picker.
    const binaryBodies = route.binaryBodies ?? [];
    for (const type of binaryBodies) content[type] = { schema: { type: 'string', format: 'binary' } };
    const problem = { description: 'Problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
      responses: {
        '200': { description: 'OK', ...(route.response ? { content: { 'application/json': { schema: convert(route.response, 'output') } } } : {}) },
        '400': problem,
        '401': problem,
        ...(route.method === 'DELETE' ? { '403': problem } : {}),
        ...(route.params ? { '404': problem } : {}),
        ...(binaryBodies.length ? { '413': problem } : {}),
      },
      security: [{ bearer: [] }],
    };
  }
  components.Problem = {
    type: 'object',
    description: 'RFC 9457 problem details; `errors` lists each wrong field',
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string' },
      errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Evalap API', version: '1', description: 'LLM evaluation platform, compatible with Evalap v1' },
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}

/**
 * The parameters an object schema names, with whether each is required. A
 * union of objects (a CSV upload's metadata, or none with a JSON body) names
 * each of its members' parameters, required only if every member requires it.
 */
function parametersOf(s: JsonSchema): [string, JsonSchema, boolean][] {
  const members: JsonSchema[] = s.anyOf ?? s.oneOf ?? [s];
  const out = new Map<string, [JsonSchema, boolean]>();
  for (const m of members) {
    for (const [name, prop] of Object.entries((m.properties ?? {}) as Record<string, JsonSchema>)) if (!out.has(name)) out.set(name, [prop, true]);
  }
  for (const [name, entry] of out) entry[1] = members.every((m) => (m.required ?? []).includes(name));
  return [...out].map(([name, [prop, required]]) => [name, prop, required]);
}
