// The export/import half of the durability tests of kernel actions (PRRN, overlays, DLPAR): the history
// exported from one service, imported into a fresh one, rebuilds the LPAR with the exported digest, and
// looks the same but for the digest (the import is another LPAR, with its own id and name).

import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testApp } from './app.ts';

export async function assertImportRebuilds<P extends { digest: string }>(
  exported: string,
  seen: P,
  picture: (app: FastifyInstance, id: string) => Promise<P>,
  name: string,
): Promise<void> {
  const { app } = await testApp();
  try {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/lpars/import?name=${name}`,
      headers: { 'content-type': 'application/x-ndjson' },
      payload: exported,
    });
    assert.equal(res.statusCode, 201, res.body);
    const trailer = JSON.parse(exported.trimEnd().split('\n').at(-1)!);
    assert.equal(trailer.digest, seen.digest);
    assert.equal(res.headers['x-lparsim-digest'], trailer.digest);
    const { digest: _, ...rest } = await picture(app, res.json().id);
    const { digest: __, ...want } = seen;
    assert.deepEqual(rest, want);
  } finally {
    await app.close();
  }
}
