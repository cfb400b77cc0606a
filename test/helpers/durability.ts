// The durability tests of kernel actions (PRRN, overlays, DLPAR): a service restarted on the durable
// journal replays the LPAR as it was; the history exported from one service, imported into a fresh one,
// rebuilds it with the exported digest and looks the same but for the digest (the import is another
// LPAR, with its own id and name).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { lparDigest } from '../../src/lpar/digest.ts';
import { testApp } from './app.ts';

export interface LparPicture {
  readonly digest: string;
  readonly [part: string]: string;
}

/**
 * What a test compares across a restart or an import: the LPAR's digest, and the body of each GET of
 * `urls` (relative to the LPAR), with the LPAR's id written `$id` so that an import compares too.
 */
export async function lparPicture(
  app: FastifyInstance,
  id: string,
  urls: Readonly<Record<string, string>>,
): Promise<LparPicture> {
  const out: Record<string, string> = { digest: lparDigest(app.registry.get(id)) };
  for (const [part, url] of Object.entries(urls))
    out[part] = (await app.inject({ url: `/v1/lpars/${id}${url}` })).body.replaceAll(id, '$id');
  return out as LparPicture;
}

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

/**
 * A service restarted on `dataDir` replays its journal without divergence and shows LPAR `id` as
 * `seen`; then `after` checks what the replayed kernel does next.
 */
export async function assertRestartReplays<P extends { digest: string }>(
  dataDir: string,
  id: string,
  seen: P,
  picture: (app: FastifyInstance, id: string) => Promise<P>,
  after: (app: FastifyInstance) => Promise<void>,
): Promise<void> {
  const { app } = await testApp({ LPARSIM_DATA_DIR: dataDir });
  try {
    const replay = await app.journalReplay!();
    assert.deepEqual(replay.diverged, []);
    assert.deepEqual(await picture(app, id), seen);
    await after(app);
  } finally {
    await app.close();
  }
}

/**
 * The whole durability check of one kernel action: `history` builds an LPAR on a service with a data
 * directory of its own; its exported history names `journalPath`; a restart replays it as it was
 * (then `afterRestart`), and an import into a fresh service rebuilds it (as `copyName`). The data
 * directory is removed at the end.
 */
export async function assertHistoryDurable<P extends { digest: string }>(o: {
  readonly history: (app: FastifyInstance) => Promise<string>;
  readonly picture: (app: FastifyInstance, id: string) => Promise<P>;
  readonly journalPath: string;
  readonly afterRestart: (app: FastifyInstance, id: string) => Promise<void>;
  readonly copyName: string;
}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lparsim-durable-'));
  try {
    const { app } = await testApp({ LPARSIM_DATA_DIR: dir });
    let id: string;
    let seen: P;
    let exported: string;
    try {
      id = await o.history(app);
      seen = await o.picture(app, id);
      exported = (await app.inject({ url: `/v1/lpars/${id}/journal` })).body;
      assert.ok(
        exported.includes(`"path":${JSON.stringify(o.journalPath)}`),
        `the history names ${o.journalPath}`,
      );
    } finally {
      await app.close();
    }
    await assertRestartReplays(dir, id, seen, o.picture, (again) => o.afterRestart(again, id));
    await assertImportRebuilds(exported, seen, o.picture, o.copyName);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
