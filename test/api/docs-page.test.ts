// Issue 12, point 4: the /docs page carries lparsim's name and description and links to the README's
// walk-through, which the service serves itself (an offline container has no other copy).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.ts';

describe('/docs', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await testApp());
  });
  after(() => app.close());

  it('is titled lparsim, and the document describes it and links to the walk-through', async () => {
    const page = await app.inject({ url: '/docs' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<title>lparsim API<\/title>/);
    const doc = (await app.inject({ url: '/docs/json' })).json() as {
      info: { title: string; description: string };
    };
    assert.equal(doc.info.title, 'lparsim');
    assert.match(doc.info.description, /Open Firmware device tree of a Linux LPAR on PowerVM/);
    const link = /\]\((\/docs\/readme)\)/.exec(doc.info.description);
    assert.ok(link, doc.info.description);
    const readme = await app.inject({ url: link[1]! });
    assert.equal(readme.statusCode, 200);
    assert.match(String(readme.headers['content-type']), /^text\/markdown/);
    assert.equal(readme.body, readFileSync(new URL('../../README.md', import.meta.url), 'utf8'));
    assert.match(readme.body, /^## A walk through with curl$/m);
  });
});
