// Issue 12, point 11: the headers an operation sends are in the document (plugins/contract.ts), and
// the server sends the ones the document declares.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.ts';

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>;
}

describe('response headers (issue 12, point 11)', () => {
  let app: FastifyInstance;
  let doc: Doc;
  before(async () => {
    ({ app } = await testApp());
    doc = (await app.inject({ url: '/openapi.json' })).json() as Doc;
  });
  after(() => app.close());

  const declared = (path: string, method: string, status: string) =>
    Object.keys(doc.paths[path]![method]!.responses[status]!.headers ?? {});

  it('PUT of an existing LPAR and a reboot answer 200 with the Location the document declares', async () => {
    assert.ok(declared('/v1/lpars/{lpar}', 'put', '200').includes('location'));
    assert.ok(declared('/v1/lpars/{lpar}/reboot', 'post', '200').includes('location'));
    const body = { kernel: '5.16' };
    const first = await app.inject({ method: 'PUT', url: '/v1/lpars/h1', payload: body });
    assert.equal(first.statusCode, 201);
    const again = await app.inject({ method: 'PUT', url: '/v1/lpars/h1', payload: body });
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers.location, first.headers.location);
    const reboot = await app.inject({ method: 'POST', url: '/v1/lpars/h1/reboot' });
    assert.equal(reboot.statusCode, 200);
    assert.equal(reboot.headers.location, first.headers.location);
  });

  it("an import answers 201 with x-lparsim-digest, the file's final digest, as documented", async () => {
    assert.ok(declared('/v1/lpars/import', 'post', '201').includes('x-lparsim-digest'));
    const file = await app.inject({ url: '/v1/lpars/h1/journal' });
    assert.equal(file.statusCode, 200);
    const trailer = JSON.parse(file.body.trimEnd().split('\n').at(-1)!) as { digest: string };
    const imported = await app.inject({
      method: 'POST',
      url: '/v1/lpars/import?name=h1-copy',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: file.rawPayload,
    });
    assert.equal(imported.statusCode, 201, imported.body);
    assert.match(String(imported.headers['x-lparsim-digest']), /^[0-9a-f]{64}$/);
    assert.equal(imported.headers['x-lparsim-digest'], trailer.digest);
  });
});
