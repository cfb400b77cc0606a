// Issue 11, point 4: with LPARSIM_TOKEN set, every route but /healthz and /readyz needs
// `Authorization: Bearer <token>`; otherwise 401 problem+json, before the body is read.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { LparsimClient } from '../../src/client/client.ts';
import { undiciTransport } from '../../src/client/transport.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { problemOf, testApp } from '../helpers/app.ts';

const TOKEN = 'test-token-0123456789abcdef';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp({ LPARSIM_TOKEN: TOKEN }));
});
after(() => app.close());

function assertUnauthorized(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  assert.equal(res.statusCode, 401, res.body);
  const p = problemOf(res);
  assert.equal(p.status, 401);
  assert.equal(p.title, 'Unauthorized');
  assert.match(String(res.headers['www-authenticate']), /^Bearer /);
  assert.ok(!res.body.includes(TOKEN), 'the token is never echoed');
}

describe('LPARSIM_TOKEN (issue 11)', () => {
  it('/healthz and /readyz answer without a token', async () => {
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
  });

  it('every other route is 401 problem+json without the right bearer token', async () => {
    for (const url of ['/v1/lpars', '/v1/profiles', '/v1/systems', '/metrics', '/docs/json', '/v1/events'])
      assertUnauthorized(await app.inject({ url }));
    for (const headers of [
      bearer('wrong-token-0123456789abcdef'),
      bearer(`${TOKEN}x`),
      bearer(TOKEN.slice(0, -1)),
      { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
      { authorization: 'Bearer ' },
    ])
      assertUnauthorized(await app.inject({ url: '/v1/lpars', headers }));
    assert.equal((await app.inject({ url: '/v1/lpars', headers: bearer(TOKEN) })).statusCode, 200);
  });

  it('a refused create changes nothing, however large its body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.8', name: 'sneaky' },
    });
    assertUnauthorized(res);
    const list = await app.inject({ url: '/v1/lpars', headers: bearer(TOKEN) });
    assert.deepEqual(list.json().items, []);
    const made = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      headers: bearer(TOKEN),
      payload: { kernel: '5.8' },
    });
    assert.equal(made.statusCode, 201);
  });

  it('the client sends the token over a real socket', async () => {
    const { app: served } = await testApp({ LPARSIM_TOKEN: TOKEN });
    try {
      const address = await served.listen({ port: 0, host: '127.0.0.1' });
      const withToken = new LparsimClient(undiciTransport(address, TOKEN));
      const without = new LparsimClient(undiciTransport(address));
      assert.deepEqual((await withToken.listLpars()).items, []);
      await assert.rejects(without.listLpars(), /401|Unauthorized/);
      assert.equal((await without.health()).status, 'ok');
    } finally {
      await served.close();
    }
  });

  it('a malformed token is a configuration error that does not print it', () => {
    assert.throws(
      () => loadConfig({ LPARSIM_TOKEN: 'short' }),
      (e: unknown) =>
        e instanceof ConfigError && /LPARSIM_TOKEN/.test(e.message) && !e.message.includes('short'),
    );
    assert.equal(loadConfig({ LPARSIM_TOKEN: '' }).LPARSIM_TOKEN, undefined);
  });

  it('the OpenAPI document declares the bearer scheme, and no token on the probes', () => {
    const doc = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
    assert.equal(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    assert.deepEqual(doc.paths['/healthz'].get.security, []);
    assert.deepEqual(doc.paths['/readyz'].get.security, []);
  });
});

describe('without LPARSIM_TOKEN', () => {
  it('needs no token', async () => {
    const { app: open } = await testApp();
    try {
      assert.equal((await open.inject({ url: '/v1/lpars' })).statusCode, 200);
    } finally {
      await open.close();
    }
  });
});
