// A URL some route serves, asked with another method, is 405 with Allow (RFC 9110), not 404
// (issue 12, point 4); a URL no route serves stays 404. Both are problem+json and change nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { fingerprint, type Problem, testApp } from '../helpers/app.ts';

describe('method mismatches', () => {
  let app: FastifyInstance;
  let id: string;
  before(async () => {
    ({ app } = await testApp());
    id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18' } })).json().id;
  });
  after(() => app.close());

  for (const [method, url, allow] of [
    ['DELETE', '/v1/systems', 'GET, HEAD, POST'],
    ['PATCH', '/v1/lpars/ID', 'DELETE, GET, HEAD, PUT'],
    ['PUT', '/v1/lpars/ID/migrations', 'GET, HEAD, POST'],
    ['POST', '/v1/lpars/ID/sys/firmware/devicetree/base/cpus', 'GET, HEAD'],
    ['DELETE', '/healthz', 'GET, HEAD'],
  ] as const)
    it(`${method} ${url} is 405 with Allow: ${allow}`, async () => {
      const before = await fingerprint(app, id);
      const res = await app.inject({ method, url: url.replace('ID', id) });
      assert.equal(res.statusCode, 405, res.body);
      assert.equal(res.headers.allow, allow);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const p = res.json() as Problem & { allow: string[] };
      assert.equal(p.title, 'Method not allowed');
      assert.deepEqual(p.allow, allow.split(', '));
      assert.equal(await fingerprint(app, id), before);
    });

  it("fastify's own refusals have human titles, not error codes, and say what to send", async () => {
    for (const [contentType, body, status, title, detail] of [
      ['application/json', '{bad', 400, 'Invalid JSON body', /not valid JSON/],
      ['application/json', '', 400, 'Empty JSON body', /cannot be empty/],
      [
        'application/xml',
        '<a/>',
        415,
        'Unsupported media type',
        /"application\/xml" is not read here: JSON bodies are application\/json/,
      ],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/lpars',
        headers: { 'content-type': contentType },
        payload: body,
      });
      assert.equal(res.statusCode, status, res.body);
      const p = res.json() as Problem;
      assert.equal(p.title, title);
      assert.match(p.detail, detail);
    }
  });

  it('a URL no route serves is 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers.allow, undefined);
  });
});
