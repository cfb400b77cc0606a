// Issue 11, point 5: a client's x-request-id is used only when it is at most 128 characters of
// [A-Za-z0-9._-]; otherwise the server makes one. Ids are per app (point 7).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
});
after(() => app.close());

const idFor = async (sent?: string) => {
  const res = await app.inject({
    url: '/v1/profiles',
    ...(sent !== undefined ? { headers: { 'x-request-id': sent } } : {}),
  });
  assert.equal(res.statusCode, 200);
  return String(res.headers['x-request-id']);
};

describe('x-request-id (issue 11)', () => {
  it('keeps a safe client id', async () => {
    assert.equal(await idFor('ci-run_42.step-7'), 'ci-run_42.step-7');
    assert.equal(await idFor('a'.repeat(128)), 'a'.repeat(128));
  });

  it('replaces an unsafe or oversized one with its own', async () => {
    for (const bad of ['a'.repeat(129), 'x y', 'evil\\n', '../etc', 'id;rm', '', 'ünï']) {
      const got = await idFor(bad);
      assert.notEqual(got, bad);
      assert.match(got, /^req-[0-9a-z]+-[0-9a-z]+$/, JSON.stringify(bad));
    }
  });

  it('numbers requests per app: a second app starts from the beginning', async () => {
    const { app: other } = await testApp();
    try {
      const res = await other.inject({ url: '/v1/profiles' });
      assert.match(String(res.headers['x-request-id']), /^req-1-/);
    } finally {
      await other.close();
    }
  });
});
