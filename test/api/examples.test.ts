// Every operation's documented example is a request the server accepts (issue 12, point 4): read
// from openapi/openapi.json as a client generator or Swagger's "Try it out" would, sent to a fresh
// service holding the LPAR the examples are written for (src/http/plugins/operations.ts), 2xx.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { OPENAPI_FILE } from '../../scripts/openapi.ts';
import { testApp } from '../helpers/app.ts';
import { exampleUrl } from '../helpers/examples.ts';
import { overlayBlob } from '../helpers/overlays.ts';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  example?: unknown;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { example?: unknown }> };
}

const doc = JSON.parse(await readFile(OPENAPI_FILE, 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
};

/**
 * The LPAR the examples act on: web (a spare core for the DLPAR add), with reference r1 on /cpus, migration m1 to p9-beta and overlay 1
 * (a target-path overlay: the built-in tree has no __symbols__ for labels), and its v-scsi slot
 * removed (remove_slot) for the add_slot example.
 */
async function fixture(): Promise<FastifyInstance> {
  const { app } = await testApp();
  const steps = [
    {
      method: 'POST' as const,
      url: '/v1/lpars',
      payload: { kernel: '4.18', name: 'web', options: { spareCores: 1 } },
    },
    {
      method: 'POST' as const,
      url: '/v1/lpars/web/refs',
      payload: { node: { path: '/cpus' }, holder: 'example' },
    },
    { method: 'POST' as const, url: '/v1/lpars/web/migrations', payload: { destination: 'p9-beta' } },
    {
      method: 'POST' as const,
      url: '/v1/lpars/web/overlays',
      headers: { 'content-type': 'application/octet-stream' },
      payload: overlayBlob('by-path'),
    },
    {
      // The v-scsi slot without its vio device, for the add_slot example.
      method: 'POST' as const,
      url: '/v1/lpars/web/sys/bus/pci/slots/control/remove_slot',
      headers: { 'content-type': 'text/plain' },
      payload: 'U9009.42A.7843A1B-V1-C3',
      status: 200,
    },
  ];
  for (const { status, ...s } of steps) assert.equal((await app.inject(s)).statusCode, status ?? 201, s.url);
  return app;
}

/** Binary bodies have no inline example: their descriptions name the export that gives one. */
async function binaryBody(app: FastifyInstance, operationId: string): Promise<Buffer | null> {
  if (operationId === 'createLparFromDtb')
    return (await app.inject({ url: '/v1/lpars/web/tree.dtb' })).rawPayload;
  if (operationId === 'importJournal') return (await app.inject({ url: '/v1/lpars/web/journal' })).rawPayload;
  if (operationId === 'applyOverlay') return overlayBlob('by-path');
  return null;
}

describe('documented examples (issue 12, point 4)', () => {
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );

  it('cover every operation that takes parameters or a body', () => {
    for (const { path, method, op } of operations) {
      for (const p of op.parameters ?? [])
        if (p.in === 'path' || p.required)
          assert.notEqual(p.example, undefined, `${method} ${path}: parameter ${p.name} has no example`);
      const media = Object.entries(op.requestBody?.content ?? {});
      if (media.length && !['createLparFromDtb', 'importJournal', 'applyOverlay'].includes(op.operationId))
        assert.ok(
          media.some(([, m]) => m.example !== undefined),
          `${method} ${path}: the request body has no example`,
        );
    }
  });

  // GETs share one fixture (they change nothing a later example needs); every other method gets its own.
  let shared: Promise<FastifyInstance> | null = null;
  after(async () => (await shared)?.close());
  for (const { path, method, op } of operations)
    it(`${op.operationId}: ${method} ${path} with its example is 2xx`, async () => {
      const own = method !== 'GET';
      if (!own && !shared) shared = fixture();
      const app = own ? await fixture() : await shared!;
      try {
        const media = Object.entries(op.requestBody?.content ?? {});
        const [contentType, content] = media.find(([, m]) => m.example !== undefined) ?? media[0] ?? [];
        const binary = await binaryBody(app, op.operationId);
        const payload =
          binary ??
          (content?.example === undefined
            ? undefined
            : typeof content.example === 'string'
              ? content.example
              : JSON.stringify(content.example));
        const res = await app.inject({
          method: method as 'GET',
          url: exampleUrl(path, op.parameters),
          ...(payload !== undefined ? { payload, headers: { 'content-type': contentType! } } : {}),
        });
        assert.ok(
          res.statusCode >= 200 && res.statusCode < 300,
          `${res.statusCode} ${res.body.slice(0, 400)}`,
        );
      } finally {
        if (own) await app.close();
      }
    });
});
