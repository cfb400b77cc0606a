// End to end over real sockets: the app listening on an ephemeral port, driven with undici; and the
// real entry point (src/main.ts) as a child process for configuration errors and graceful shutdown.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp } from '../../src/app.ts';
import { ApiError, LparsimClient } from '../../src/client/client.ts';
import { undiciTransport } from '../../src/client/transport.ts';
import { loadConfig } from '../../src/config.ts';
import { loadScenarios } from '../../src/scenario/files.ts';
import { runScenario } from '../../src/scenario/runner.ts';
import { logLines } from '../helpers/child.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

describe('over a real socket', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = await buildApp({ ...loadConfig({}), LOG_LEVEL: 'silent' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    assert.ok(addr && typeof addr === 'object');
    base = `http://127.0.0.1:${addr.port}`;
  });
  after(() => app.close());

  it('runs the 4.18 migration scenario through the undici client', async () => {
    const client = new LparsimClient(undiciTransport(base));
    const [loaded] = await loadScenarios(
      new URL('../../scenarios/pfo-readd-4.18.json', import.meta.url).pathname,
    );
    const result = await runScenario(client, loaded!.scenario, '4.18');
    assert.deepEqual(result.failures, []);
  });

  it('streams events with SSE and resumes from Last-Event-ID', async () => {
    const client = new LparsimClient(undiciTransport(base));
    const lpar = await client.createLpar({ kernel: '5.8' });
    const res = await request(`${base}/v1/lpars/${lpar.id}/events`, {
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(res.headers['content-type'], 'text/event-stream');
    let text = '';
    const decoder = new TextDecoder();
    const got = (async () => {
      for await (const chunk of res.body) {
        text += decoder.decode(chunk as Buffer);
        if (text.includes('event: node.detached')) break;
      }
    })();
    await client.ofdt(lpar.id, 'add_node /vdevice/sse@1 name 4 sse\0');
    await client.ofdt(lpar.id, 'remove_node /vdevice/sse@1');
    await got;
    res.body.destroy();
    assert.match(text, /event: node\.attached\ndata: \{.*"fullName":"sse@1"/);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const last = ids.at(-1)!;
    const replay = await request(`${base}/v1/lpars/${lpar.id}/events?follow=false`, {
      headers: { 'last-event-id': String(last - 2) },
    });
    const replayed = [...(await replay.body.text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(replayed[0], last - 1);
    const global = await request(`${base}/v1/events?follow=false`);
    assert.match(await global.body.text(), /"lpar":"lpar-\d+"/);
    // A following stream ends when its LPAR is deleted, after an lpar.deleted event.
    const live = await request(`${base}/v1/lpars/${lpar.id}/events?since=${last}`);
    const tail = live.body.text();
    await client.migrate(lpar.id, { destination: 'p9-beta' });
    await client.deleteLpar(lpar.id);
    const rest = await tail;
    assert.match(rest, /event: migration\.completed\n/);
    assert.match(rest, /event: lpar\.deleted\n/);
  });

  it('an oops kills the writer (E7): the client gets a 409 task-killed problem; a panicked LPAR refuses, and streams it', async () => {
    const client = new LparsimClient(undiciTransport(base));
    const lpar = await client.createLpar({ kernel: '5.8', options: { panicOnOops: true } });
    const err = await client.ofdt(lpar.id, 'add_node /no-such/x name 2 x\0').then(
      () => assert.fail('the write returned'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 409);
    assert.equal(err.problem.type, 'https://lparsim.dev/problems/task-killed');
    assert.equal(err.problem.panicked, true);
    const refused = await client.migrate(lpar.id, { destination: 'p9-beta' }).then(
      () => assert.fail('a panicked LPAR migrated'),
      (e: unknown) => e,
    );
    assert.ok(refused instanceof ApiError);
    assert.equal(refused.status, 409);
    assert.equal(refused.problem.type, 'https://lparsim.dev/problems/panicked');
    const events = await request(`${base}/v1/lpars/${lpar.id}/events?follow=false`);
    const text = await events.body.text();
    assert.match(text, /event: oops\n/);
    assert.match(text, /event: panic\n/);
    await client.deleteLpar(lpar.id);
  });

  it('sysfs.tar.gz and a negotiated sysfs.tar gunzip to the plain tar; a client that goes away lets the queue go', async () => {
    const create = async (payload: unknown) => {
      const res = await request(`${base}/v1/lpars`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      assert.equal(res.statusCode, 201);
      return ((await res.body.json()) as { id: string }).id;
    };
    const id = await create({ kernel: '5.8' });
    const plainRes = await request(`${base}/v1/lpars/${id}/sysfs.tar`); // undici sends no Accept-Encoding
    assert.equal(plainRes.headers['content-encoding'], undefined);
    const plain = Buffer.from(await plainRes.body.arrayBuffer());
    const gzRes = await request(`${base}/v1/lpars/${id}/sysfs.tar.gz`);
    assert.equal(gzRes.headers['content-type'], 'application/gzip');
    assert.equal(gzRes.headers['transfer-encoding'], 'chunked', 'streamed, not buffered to a length');
    const gz = Buffer.from(await gzRes.body.arrayBuffer());
    assert.ok(gunzipSync(gz).equals(plain));
    assert.ok(gz.length <= plain.length / 10, `${gz.length} / ${plain.length}`);
    const coded = await request(`${base}/v1/lpars/${id}/sysfs.tar`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(coded.headers['content-encoding'], 'gzip');
    assert.equal(coded.headers.vary, 'accept-encoding');
    assert.ok(gunzipSync(Buffer.from(await coded.body.arrayBuffer())).equals(plain));
    // fetch asks for gzip and decodes it, as a browser would.
    const fetched = await fetch(`${base}/v1/lpars/${id}/sysfs.tar`);
    assert.equal(fetched.headers.get('content-encoding'), 'gzip');
    assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(plain));
    // A download of a ~34 MB tar abandoned after its first chunk: the export lets the LPAR's queue go.
    const big = await create({ kernel: '5.8', options: { cores: 1000 } });
    const abandoned = await request(`${base}/v1/lpars/${big}/sysfs.tar.gz`);
    for await (const _ of abandoned.body) break; // leaving the loop destroys the body and the socket
    const write = await request(`${base}/v1/lpars/${big}/proc/ppc64/ofdt`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('add_node /vdevice/after@1 name 6 after\0', 'latin1'),
    });
    assert.equal(write.statusCode, 200);
    await write.body.dump();
  });

  it('refuses a .. component (only reachable encoded: clients normalise raw dot segments) with a 400 problem', async () => {
    const client = new LparsimClient(undiciTransport(base));
    const lpar = await client.createLpar({ kernel: '5.8' });
    const res = await request(`${base}/v1/lpars/${lpar.id}/sys/firmware/devicetree%2F..%2F..%2Fdevices`);
    const body = await res.body.text();
    assert.equal(res.statusCode, 400, body);
    assert.match(String(res.headers['content-type']), /problem\+json/);
  });
});

function startMain(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [MAIN], {
    env: { ...process.env, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('the process entry point', () => {
  it('refuses a bad variable with a message naming it', async () => {
    const child = startMain({ PORT: 'eighty' });
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(err, /invalid PORT="eighty"/);
  });

  it('logs pino JSON with request ids and drains an in-flight request on SIGTERM', {
    timeout: 60_000,
  }, async (t) => {
    const child = startMain({ PORT: '0', LOG_LEVEL: 'info', LPARSIM_SHUTDOWN_TIMEOUT_MS: '120000' });
    t.after(() => child.kill('SIGKILL'));
    const log = logLines(child);
    const port = Number((await log.waitFor(/"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/))[1]);
    const base = `http://127.0.0.1:${port}`;
    const created = await request(`${base}/v1/lpars`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kernel: '5.8', options: { cores: 1000 } }),
    });
    assert.equal(created.statusCode, 201);
    const { id } = (await created.body.json()) as { id: string };
    assert.equal((await request(`${base}/healthz`)).statusCode, 200); // a probe: debug, not in this log
    // A slow request (a 3000-node tree as a ~30 MB tar) in flight while SIGTERM arrives.
    // Its headers have arrived: the archive is streaming when the signal comes.
    const res = await request(`${base}/v1/lpars/${id}/sysfs.tar`);
    child.kill('SIGTERM');
    assert.equal(res.statusCode, 200);
    assert.ok((await res.body.arrayBuffer()).byteLength > 1_000_000, 'the whole archive arrived');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    const entries = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(entries.every((l) => typeof l.level === 'number' && typeof l.time === 'number'));
    // One line per request, with method, URL, status, time and request id; the probes are debug.
    const lines = entries.filter((l) => l.msg === 'request');
    assert.ok(
      lines.some(
        (l) =>
          l.method === 'POST' &&
          l.url === '/v1/lpars' &&
          l.statusCode === 201 &&
          typeof l.responseTimeMs === 'number' &&
          typeof l.reqId === 'string',
      ),
      'the create has its line',
    );
    assert.ok(
      lines.some((l) => typeof l.url === 'string' && l.url.endsWith('/sysfs.tar') && l.statusCode === 200),
    );
    assert.ok(!lines.some((l) => l.url === '/healthz' || l.url === '/readyz'), 'probes log at debug');
    assert.ok(!entries.some((l) => l.msg === 'incoming request' || l.msg === 'request completed'));
    assert.ok(entries.some((l) => l.msg === 'lpar created' && typeof l.reqId === 'string'));
  });
});
