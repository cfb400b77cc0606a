// http/serializer.ts: a response's serializer gets the shared schemas its schema reaches, and no other,
// and writes what fastify's default serializer writes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSerializer, referencedSchemas } from '../../src/http/serializer.ts';

const shared = {
  Holder: {
    $id: 'Holder',
    type: 'object',
    properties: { holder: { type: 'string' }, count: { type: 'integer' } },
  },
  Node: {
    $id: 'Node',
    type: 'object',
    properties: { path: { type: 'string' }, holders: { type: 'array', items: { $ref: 'Holder' } } },
  },
  Unrelated: { $id: 'Unrelated', type: 'object', properties: { x: { $ref: 'Unrelated#' } } },
};

describe('response serializers', () => {
  it('build with the schemas reached directly and through each other, not the rest', () => {
    const page = { type: 'object', properties: { items: { type: 'array', items: { $ref: 'Node#' } } } };
    assert.deepEqual(Object.keys(referencedSchemas(page, shared)).sort(), ['Holder', 'Node']);
    assert.deepEqual(Object.keys(referencedSchemas({ type: 'string' }, shared)), []);
    // A schema that refers to itself ends.
    assert.deepEqual(Object.keys(referencedSchemas({ $ref: 'Unrelated' }, shared)), ['Unrelated']);
  });

  it('write what the document says, dropping what it does not name', () => {
    const serialize = buildSerializer(shared)({ schema: { $ref: 'Node' } });
    const node = { path: '/cpus', holders: [{ holder: 'of_node_init', count: 1, extra: true }], extra: 1 };
    assert.deepEqual(JSON.parse(serialize(node)), {
      path: '/cpus',
      holders: [{ holder: 'of_node_init', count: 1 }],
    });
  });

  it('build one serializer per schema object', () => {
    const compile = buildSerializer(shared);
    const schema = { $ref: 'Holder' };
    assert.equal(compile({ schema }), compile({ schema }));
    assert.notEqual(compile({ schema }), compile({ schema: { $ref: 'Holder' } }));
  });
});
