// The web view's files (issue 13): `/` is the page, its assets have their types, an unknown asset is a
// problem like any other 404, and none of them needs the token (the page asks for it itself).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.ts';

let app: FastifyInstance;
let locked: FastifyInstance;
before(async () => {
  ({ app } = await testApp());
  ({ app: locked } = await testApp({ LPARSIM_TOKEN: 'sekrit-token-1234' }));
});
after(async () => {
  await app.close();
  await locked.close();
});

test('GET / serves the page, which loads its modules from /ui/ and no other host', async () => {
  const res = await app.inject({ url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/html/);
  assert.match(res.body, /<script type="module" src="\/ui\/js\/main\.js">/);
  assert.doesNotMatch(res.body, /https?:\/\//, 'no CDN: every URL the page loads is on this server');
});

test('the assets and the vendored view library have their content types', async () => {
  for (const [url, type] of [
    ['/ui/app.css', /^text\/css/],
    ['/ui/js/main.js', /^(text|application)\/javascript/],
    ['/ui/vendor/preact.mjs', /^(text|application)\/javascript/],
    ['/ui/vendor/hooks.mjs', /^(text|application)\/javascript/],
    ['/ui/vendor/htm.mjs', /^(text|application)\/javascript/],
  ] as const) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, url);
    assert.match(res.headers['content-type'] as string, type, url);
    assert.ok(res.body.length > 0, url);
  }
});

test('an unknown asset, or a file outside the vendored three, is a 404 problem', async () => {
  for (const url of ['/ui/nope.js', '/ui/vendor/package.json', '/ui/../package.json']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, url);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/, url);
    assert.equal(res.json().status, 404, url);
  }
});

test('with LPARSIM_TOKEN the page and its files load without it, the API still wants it', async () => {
  assert.equal((await locked.inject({ url: '/' })).statusCode, 200);
  assert.equal((await locked.inject({ url: '/ui/js/main.js' })).statusCode, 200);
  assert.equal((await locked.inject({ url: '/v1/lpars' })).statusCode, 401);
});

test('the web routes are not in the OpenAPI document', async () => {
  const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
  for (const path of Object.keys(doc.paths)) assert.ok(path !== '/' && !path.startsWith('/ui'), path);
});
