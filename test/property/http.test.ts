// No input gets a 5xx: random methods, paths shaped like the API's with hostile segments, random bodies
// and content types. Every error answer is problem+json.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.ts';

let app: FastifyInstance;
before(async () => {
  ({ app } = await testApp({ LPARSIM_MAX_LPARS: '8' }));
  await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18' } });
});
after(() => app.close());

const segment = fc.oneof(
  fc.constantFrom(
    'lpar-1',
    'lpar-9',
    '..',
    '.',
    '%2e%2e',
    '%00',
    '%ff',
    '__proto__',
    'constructor',
    'c000000002000000',
    'c0000000ffffffff',
    '0xfffffff5',
    '4294967296',
    '-1',
    'ibm,platform-facilities',
    'vdevice',
    'sys',
    'proc',
    'device-tree',
    'firmware',
    'devicetree',
    'base',
    'r1',
    'm1',
    'p9-beta',
    '*',
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.constant('x'.repeat(300)),
);
const template = fc.constantFrom(
  '/v1/lpars/{}',
  '/v1/lpars/{}/nodes?path=/{}',
  '/v1/lpars/{}/nodes/{}',
  '/v1/lpars/{}/phandles/{}',
  '/v1/lpars/{}/refs/{}',
  '/v1/lpars/{}/sys/{}/{}',
  '/v1/lpars/{}/proc/device-tree/{}',
  '/v1/lpars/{}/migrations/{}',
  '/v1/lpars/{}/dmesg?since={}&level={}',
  '/v1/lpars/{}/events?follow=false&since={}',
  '/v1/systems/{}',
  '/{}/{}',
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.json().map((j) => ({ payload: j, type: 'application/json' })),
  fc
    .record({
      node: fc.oneof(
        fc.record({ path: fc.string() }),
        fc.record({ phandle: fc.oneof(fc.integer(), fc.string()) }),
      ),
      holder: fc.string(),
    })
    .map((o) => ({ payload: JSON.stringify(o), type: 'application/json' })),
  fc
    .record({ destination: fc.constantFrom('p9-beta', 'p9-alpha', 'nowhere'), dryRun: fc.boolean() })
    .map((o) => ({ payload: JSON.stringify(o), type: 'application/json' })),
  fc
    .uint8Array({ maxLength: 64 })
    .map((b) => ({ payload: Buffer.from(b), type: 'application/octet-stream' })),
  fc.string({ maxLength: 40 }).map((s) => ({ payload: s, type: 'text/plain' })),
  fc.string({ maxLength: 20 }).map((s) => ({ payload: s, type: 'application/x-unknown' })),
);

describe('hostile HTTP input', () => {
  it('never answers 5xx, and every error is problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
        template,
        fc.array(segment, { minLength: 3, maxLength: 3 }),
        body,
        async (method, t, segs, b) => {
          let i = 0;
          const url = t.replace(/\{\}/g, () => segs[i++ % segs.length]!);
          const res = await app.inject({
            method,
            url,
            ...(b ? { payload: b.payload, headers: { 'content-type': b.type } } : {}),
          });
          assert.ok(res.statusCode < 500, `${method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
          if (res.statusCode >= 400)
            assert.match(
              String(res.headers['content-type']),
              /^application\/problem\+json/,
              `${method} ${url}: ${res.body.slice(0, 200)}`,
            );
        },
      ),
      { numRuns: Number(process.env.LPARSIM_FUZZ_RUNS ?? 3000) },
    );
  });
});
