// K-PRRN over HTTP: a PRRN is a kernel action like a migration, so it is journaled, replayed after a
// restart and carried by an exported history, with the same model digest.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testApp } from '../helpers/app.ts';
import { assertHistoryDurable, lparPicture } from '../helpers/durability.ts';

/** A 4.18 LPAR migrated once, then told by PRRN about the platform facilities (stale in its cache). */
async function prrnHistory(app: FastifyInstance): Promise<{ id: string; event: Record<string, unknown> }> {
  const id = (
    await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '4.18', name: 'pr', seed: 3 } })
  ).json().id as string;
  const pf = app.registry.get(id).resolve({ path: '/ibm,platform-facilities' }).phandle;
  const m = await app.inject({
    method: 'POST',
    url: `/v1/lpars/${id}/migrations`,
    payload: { destination: 'p9-beta' },
  });
  assert.equal(m.statusCode, 201, m.body);
  const res = await app.inject({
    method: 'POST',
    url: `/v1/lpars/${id}/prrn`,
    payload: {
      nodes: [{ phandle: pf }, { path: '/cpus', properties: [{ name: 'ibm,prrn', u32: [1, 2] }] }],
    },
  });
  assert.equal(res.statusCode, 200, res.body);
  return { id, event: res.json() };
}

const picture = (app: FastifyInstance, id: string) =>
  lparPicture(app, id, { dmesg: '/dmesg', cpus: '/nodes?path=/cpus', refcounts: '/refcounts' });

describe('PRRN requests (K-PRRN)', () => {
  it('4.18 updates the released platform-facilities node the stale cache still names, and /cpus', async () => {
    const { app } = await testApp();
    try {
      const { event } = await prrnHistory(app);
      assert.equal(event.id, 'p1');
      assert.equal(event.handled, true);
      const ops = (
        event.report as { operations: Array<{ node: { path: string; state: string }; prrn: string }> }
      ).operations;
      assert.deepEqual(
        ops.map((o) => [o.node.path, o.node.state, o.prrn]),
        [
          ['/ibm,platform-facilities', 'released', 'found'],
          ['/cpus', 'attached', 'found'],
        ],
      );
    } finally {
      await app.close();
    }
  });

  it('survives a restart from the journal and an export/import, with the same digest', async () => {
    await assertHistoryDurable({
      history: async (app) => (await prrnHistory(app)).id,
      picture,
      journalPath: '/prrn',
      // The count of PRRN events came back with the replay.
      afterRestart: async (again, id) => {
        const next = await again.inject({
          method: 'POST',
          url: `/v1/lpars/${id}/prrn`,
          payload: { nodes: [{ path: '/cpus' }] },
        });
        assert.equal(next.json().id, 'p2');
      },
      copyName: 'pr-copy',
    });
  });

  it('a kernel without PRRN handling answers what it did, and a node firmware cannot name is a 422', async () => {
    const { app } = await testApp();
    try {
      const id = (await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '6.12' } })).json()
        .id;
      const res = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/prrn`,
        payload: { nodes: [{ path: '/cpus' }] },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(
        [res.json().handled, res.json().report.dmesg],
        [false, ['Platform resource reassignment ignored.']],
      );
      const bad = await app.inject({
        method: 'POST',
        url: `/v1/lpars/${id}/prrn`,
        payload: { nodes: [{ path: '/nowhere' }] },
      });
      assert.equal(bad.statusCode, 422);
      assert.match(String(bad.headers['content-type']), /^application\/problem\+json/);
      const empty = await app.inject({ method: 'POST', url: `/v1/lpars/${id}/prrn`, payload: { nodes: [] } });
      assert.equal(empty.statusCode, 400);
    } finally {
      await app.close();
    }
  });
});
