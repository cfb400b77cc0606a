// The client's event iterator (issue 12, point 5) over a real socket: typed events as they happen,
// and after the server restarts (a durable journal brings the LPAR back with the same event ids) it
// reconnects with Last-Event-ID and goes on with the events after the last it gave, none twice.
// Idempotent requests are retried after a failed connection; a POST is not.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type LparEvent, LparsimClient } from '../../src/client/client.ts';
import { undiciTransport } from '../../src/client/transport.ts';
import { freePort, serverProcess, waitReady } from '../helpers/child.ts';

const dir = mkdtempSync(join(tmpdir(), 'lparsim-client-events-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function start(port: number): Promise<ChildProcess> {
  const child = serverProcess(port, { LPARSIM_DATA_DIR: dir });
  children.add(child);
  child.once('exit', () => children.delete(child));
  await waitReady(`http://127.0.0.1:${port}`);
  return child;
}

describe('the client event iterator', () => {
  it('follows an LPAR, resumes after a restart with Last-Event-ID, and ends at its deletion', async () => {
    const port = await freePort();
    let server = await start(port);
    const client = new LparsimClient(undiciTransport(`http://127.0.0.1:${port}`));
    const lpar = await client.createLpar({ kernel: '4.18', name: 'watched' });
    const seen: LparEvent[] = [];
    const done = (async () => {
      for await (const e of client.events('watched', { reconnectMs: 50 })) seen.push(e);
    })();
    const waitFor = async (pred: (e: LparEvent) => boolean) => {
      for (let i = 0; i < 1500 && !seen.some(pred); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(seen.some(pred), `no such event among ${seen.length}`);
    };
    await client.migrate(lpar.id, { destination: 'p9-beta' });
    await waitFor((e) => e.type === 'migration.completed');
    // The server goes away and comes back with the same LPAR and event ids (the journal).
    server.kill('SIGTERM');
    await once(server, 'exit');
    server = await start(port);
    await client.migrate(lpar.id, { destination: 'p9-alpha' });
    await waitFor((e) => e.type === 'migration.completed' && e.data.destination === 'p9-alpha');
    await client.deleteLpar(lpar.id);
    await done; // the stream ended for good at lpar.deleted
    const ids = seen.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...new Set(ids)].sort((a, b) => a - b),
      'in order, none twice',
    );
    assert.deepEqual(
      ids,
      Array.from({ length: ids.length }, (_, i) => ids[0]! + i),
      'none lost across the restart',
    );
    assert.equal(seen[0]!.type, 'lpar.booted');
    assert.equal(seen.at(-1)!.type, 'lpar.deleted');
    const booted = seen[0]!;
    if (booted.type === 'lpar.booted') assert.equal(booted.data.kernel, '4.18'); // typed by the union
    server.kill('SIGKILL');
  });

  it('retries a GET whose connection failed, never a POST', async () => {
    const port = await freePort();
    const client = new LparsimClient(undiciTransport(`http://127.0.0.1:${port}`));
    // Nothing listens yet: the GET's retries outlast a server that starts meanwhile.
    const starting = start(port);
    let health: unknown = null;
    for (let i = 0; i < 40 && health === null; i++) health = await client.health().catch(() => null);
    await starting;
    assert.deepEqual(await client.health(), { status: 'ok' });
    const deadPort = await freePort();
    const dead = new LparsimClient(undiciTransport(`http://127.0.0.1:${deadPort}`));
    let attempts = 0;
    const counting = new LparsimClient(
      Object.assign(async (req: Parameters<ReturnType<typeof undiciTransport>>[0]) => {
        attempts += 1;
        return undiciTransport(`http://127.0.0.1:${deadPort}`)(req);
      }, {}),
    );
    await assert.rejects(counting.createLpar({ kernel: '4.18' }));
    assert.equal(attempts, 1, 'a POST is sent once');
    attempts = 0;
    await assert.rejects(counting.listLpars());
    assert.equal(attempts, 3, 'a GET is sent again twice');
    await assert.rejects(dead.getLpar('x'));
  });
});
