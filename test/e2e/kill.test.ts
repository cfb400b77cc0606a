// Issue 11, point 1: the journal survives SIGKILL. The real server (node src/main.ts) runs with a data
// directory while this test drives migrations, ofdt writes and phandle lookups at it, and is killed at
// random points (LPARSIM_KILLS times: 50 here, 500 in `npm run soak`, on a fresh journal every
// LPARSIM_KILLS_PER_JOURNAL = 100 kills, since each restart replays its whole journal). After each restart:
// - every acknowledged request is there (each acknowledged add_node's node exists, and the migration
//   count is at least the acknowledged one);
// - nothing unacknowledged is half-applied (at most the one request in flight at the kill is there,
//   whole: the migration count is at most one more);
// - and, every 25th kill and at the end, what the restarted server shows of each LPAR equals what a
//   fresh replay of a copy of its journal shows, in this process.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { testApp } from '../helpers/app.ts';
import { freePort, serverProcess } from '../helpers/child.ts';

const KILLS = Number(process.env.LPARSIM_KILLS ?? 50);
const KILLS_PER_JOURNAL = Number(process.env.LPARSIM_KILLS_PER_JOURNAL ?? 100);
const READY_TIMEOUT_MS = 180_000;
const dirs: string[] = [];
/** Servers still running: a failed assertion must not leave one behind (it would hold the test open). */
const live = new Set<ChildProcess>();
after(() => {
  for (const c of live) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A deterministic generator (the test's own choices must be reproducible from its seed). */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Server {
  readonly child: ChildProcess;
  readonly base: string;
  readonly exited: Promise<void>;
}

async function start(dataDir: string): Promise<Server> {
  const port = await freePort();
  const child = serverProcess(port, { LPARSIM_DATA_DIR: dataDir }, ['ignore', 'ignore', 'pipe']);
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  // The replay before listening grows with the journal (hundreds of kills): seconds on a loaded machine.
  const started = Date.now();
  live.add(child);
  child.once('exit', () => live.delete(child));
  while (Date.now() - started < READY_TIMEOUT_MS) {
    try {
      const res = await request(`${base}/readyz`);
      await res.body.text();
      if (res.statusCode === 200) return { child, base, exited };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`server did not become ready in ${READY_TIMEOUT_MS} ms: ${stderr}`);
}

async function call(base: string, method: string, path: string, body?: unknown, raw?: string) {
  const res = await request(`${base}${path}`, {
    method: method as 'GET',
    ...(raw !== undefined
      ? { body: raw, headers: { 'content-type': 'application/octet-stream' } }
      : body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

/** What a user sees of one LPAR: document, dmesg, migrations, cache, references (every page). */
async function view(get: (path: string) => Promise<string>, lpar: string): Promise<string> {
  const parts = await Promise.all(
    ['', '/dmesg', '/migrations', '/phandle-cache', '/refs', '/leaks'].map((p) =>
      get(`/v1/lpars/${lpar}${p}`),
    ),
  );
  for (let next = JSON.parse(await get(`/v1/lpars/${lpar}/refcounts`)).next, page = 0; page < 1000; page++) {
    if (!next) break;
    const body = await get(`/v1/lpars/${lpar}/refcounts?cursor=${encodeURIComponent(next)}`);
    parts.push(body);
    next = JSON.parse(body).next;
  }
  return parts.join('\n');
}

async function sameAsFreshReplay(server: Server, dataDir: string, lpars: readonly string[]): Promise<void> {
  const copy = mkdtempSync(join(tmpdir(), 'lparsim-replay-'));
  dirs.push(copy);
  cpSync(dataDir, copy, { recursive: true });
  const { app } = await testApp({ LPARSIM_DATA_DIR: copy });
  try {
    const replay = await (app as FastifyInstance).journalReplay!();
    assert.deepEqual(replay.diverged, []);
    for (const lpar of lpars) {
      const live = await view(async (p) => (await call(server.base, 'GET', p)).text, lpar);
      const fresh = await view(async (p) => (await app.inject({ url: p })).body, lpar);
      assert.equal(live, fresh, `${lpar}: the restarted server differs from a fresh replay`);
    }
  } finally {
    await app.close();
  }
}

describe(`the journal under SIGKILL (${KILLS} kills, issue 11)`, () => {
  it('keeps every acknowledged request and nothing half-done', {
    timeout: 60_000 + KILLS * 8_000,
  }, async () => {
    // A journal per KILLS_PER_JOURNAL kills: every restart replays its whole journal, so one journal
    // for 500 kills would make the soak quadratic in time without testing anything more.
    for (let done = 0; done < KILLS; done += KILLS_PER_JOURNAL)
      await killLoop(Math.min(KILLS_PER_JOURNAL, KILLS - done), 20261201 + done);
  });
});

/** `kills` kills of one server on one fresh journal, checked after every restart and at the end. */
async function killLoop(kills: number, seed: number): Promise<void> {
  {
    const dataDir = mkdtempSync(join(tmpdir(), 'lparsim-kill-'));
    dirs.push(dataDir);
    const random = prng(seed);
    const lpars = ['ka', 'kb'];
    const acked = new Map<string, { nodes: string[]; migrations: number }>(
      lpars.map((l) => [l, { nodes: [], migrations: 0 }]),
    );
    let server = await start(dataDir);
    for (const [name, kernel] of [
      ['ka', '4.18'],
      ['kb', '5.16'],
    ] as const)
      assert.ok(
        [200, 201].includes((await call(server.base, 'PUT', `/v1/lpars/${name}`, { kernel })).status),
      );
    let sequence = 0;
    for (let kill = 1; kill <= kills; kill++) {
      // Drive requests one after another until the kill lands, somewhere in them.
      const killAfterMs = 5 + Math.floor(random() * 120);
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        server.child.kill('SIGKILL');
      }, killAfterMs);
      let inFlightMigration: string | null = null;
      try {
        while (!killed) {
          const lpar = lpars[Math.floor(random() * lpars.length)]!;
          const a = acked.get(lpar)!;
          const pick = random();
          if (pick < 0.25) {
            inFlightMigration = lpar;
            const destination = a.migrations % 2 === 0 ? 'p9-beta' : 'p9-alpha';
            const r = await call(server.base, 'POST', `/v1/lpars/${lpar}/migrations`, { destination });
            inFlightMigration = null;
            // A migration whose destination is where it already is (after an unacknowledged one) is a 409.
            if (r.status === 201) a.migrations += 1;
          } else if (pick < 0.75) {
            const name = `k${++sequence}@${sequence.toString(16)}`;
            const r = await call(
              server.base,
              'POST',
              `/v1/lpars/${lpar}/proc/ppc64/ofdt`,
              undefined,
              `add_node /vdevice/${name} name 2 k\0`,
            );
            if (r.status === 200) a.nodes.push(name);
          } else {
            await call(server.base, 'GET', `/v1/lpars/${lpar}/phandles/${1 + Math.floor(random() * 0x40)}`);
          }
        }
      } catch {
        // the connection died with the server
      }
      clearTimeout(timer);
      await server.exited;
      server = await start(dataDir);
      for (const lpar of lpars) {
        const a = acked.get(lpar)!;
        for (const name of a.nodes.slice(-20)) {
          const r = await call(
            server.base,
            'GET',
            `/v1/lpars/${lpar}/nodes?path=${encodeURIComponent(`/vdevice/${name}`)}`,
          );
          assert.equal(r.status, 200, `kill ${kill}: acknowledged add_node ${name} on ${lpar} is lost`);
        }
        const migrations = JSON.parse((await call(server.base, 'GET', `/v1/lpars/${lpar}/migrations`)).text)
          .items.length;
        const extra = inFlightMigration === lpar ? 1 : 0;
        assert.ok(
          migrations >= Math.min(a.migrations, 1000) && migrations <= a.migrations + extra,
          `kill ${kill}: ${lpar} has ${migrations} migrations, ${a.migrations} acknowledged`,
        );
        // An unacknowledged migration that made it to the journal is whole: count it from now on.
        a.migrations = migrations;
      }
      if (kill % 25 === 0 || kill === kills) await sameAsFreshReplay(server, dataDir, lpars);
    }
    // Every acknowledged node, not only the recent ones, at the end.
    for (const lpar of lpars)
      for (const name of acked.get(lpar)!.nodes) {
        const r = await call(
          server.base,
          'GET',
          `/v1/lpars/${lpar}/nodes?path=${encodeURIComponent(`/vdevice/${name}`)}`,
        );
        assert.equal(r.status, 200, `acknowledged add_node ${name} on ${lpar} is lost`);
      }
    server.child.kill('SIGKILL');
    await server.exited;
  }
}
