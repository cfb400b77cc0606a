// How requests are checked against their schemas (issue 12, point 11: the document is the truth).
// A JSON body is validated exactly as the OpenAPI document states it: no type coercion, so
// {"kernel": 4.18}, "seed": "7" and "kasan": "false" are 400s. The querystring, path parameters and
// headers can only be text, so they are coerced to the types their schemas give (`?limit=10`).

import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const COMMON: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };

function ajvWith(coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...COMMON, coerceTypes });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

export function requestValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const body = ajvWith(false);
  const text = ajvWith('array');
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema as object);
}
