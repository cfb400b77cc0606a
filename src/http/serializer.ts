// Response serializers (fast-json-stringify), each built with only the shared schemas its own schema
// refers to. fastify's default hands every serializer every schema added with addSchema, and
// fast-json-stringify checks each of them against the JSON Schema meta-schema on every build: with some
// 60 shared documents and about 300 route responses that was a second of CPU for every app that
// started, in the service and in each test. The output is the same: a schema can only reach the
// schemas it refers to. Serializers are also kept per schema object, so a response shared by many
// routes (the problem responses) is built once.

import fastJson from 'fast-json-stringify';

type Schema = Record<string, unknown>;
type Serializer = (doc: unknown) => string;

/** The `$id`s a schema refers to (`{"$ref": "NodeDoc"}`, `NodeDoc#/properties/x`), at any depth. */
function refsOf(schema: unknown, out: Set<string>): void {
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const x = stack.pop();
    if (Array.isArray(x)) for (const v of x) stack.push(v);
    else if (x !== null && typeof x === 'object') {
      for (const [k, v] of Object.entries(x as Schema)) {
        if (k === '$ref' && typeof v === 'string') {
          const id = v.split('#')[0]!;
          if (id !== '') out.add(id);
        } else stack.push(v);
      }
    }
  }
}

/** The shared schemas `schema` reaches, directly or through each other. */
export function referencedSchemas(schema: unknown, shared: Readonly<Record<string, unknown>>): Schema {
  const ids = new Set<string>();
  refsOf(schema, ids);
  const out: Schema = {};
  for (const id of ids) {
    const s = shared[id];
    if (s === undefined || id in out) continue;
    out[id] = s;
    const more = new Set<string>();
    refsOf(s, more);
    for (const m of more) if (!(m in out)) ids.add(m); // a Set iterates what is added while iterating
  }
  return out;
}

/** fastify's schemaController.compilersFactory.buildSerializer. */
export function buildSerializer(
  externalSchemas?: unknown,
  serializerOpts?: object,
): (route: { schema?: unknown }) => Serializer {
  const shared = (externalSchemas ?? {}) as Readonly<Record<string, unknown>>;
  const built = new Map<unknown, Serializer>();
  return ({ schema }) => {
    let serializer = built.get(schema);
    if (!serializer) {
      serializer = fastJson(schema as Parameters<typeof fastJson>[0], {
        ...(serializerOpts ?? {}),
        schema: referencedSchemas(schema, shared) as Record<string, Parameters<typeof fastJson>[0]>,
      }) as Serializer;
      built.set(schema, serializer);
    }
    return serializer;
  };
}
