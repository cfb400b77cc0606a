// Issue 11, done-when: "an exported journal imported into a fresh process gives the same digest".
// Two real servers (node src/main.ts) over sockets: a history exported from one with undici, imported
// into the other with the CLI (`lparsim import`), and what each shows of the LPAR compared.

import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { freePort, serverProcess, waitReady } from '../helpers/child.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'lparsim-history-e2e-'));
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function server(): Promise<string> {
  const port = await freePort();
  const child = serverProcess(port);
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, 600);
  return base;
}

async function call(base: string, method: string, path: string, body?: unknown, raw?: string) {
  const res = await request(`${base}${path}`, {
    method: method as 'GET',
    ...(raw !== undefined
      ? { body: Buffer.from(raw, 'latin1'), headers: { 'content-type': 'application/octet-stream' } }
      : body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** What a user sees of the LPAR, its own id written as `$id`. */
async function view(base: string, lpar: string): Promise<string[]> {
  const id = JSON.parse((await call(base, 'GET', `/v1/lpars/${lpar}`)).text).id as string;
  const parts: string[] = [];
  for (const p of ['', '/dmesg', '/migrations', '/phandle-cache', '/refcounts', '/events?follow=false'])
    parts.push(
      (await call(base, 'GET', `/v1/lpars/${id}${p}`)).text.replaceAll(id, '$id').replace(/"id":"\$id",/, ''),
    );
  return parts;
}

describe('a history moves between processes (issue 11)', () => {
  it('exported over HTTP from one server, imported with the CLI into another: same digest, same LPAR', async () => {
    const a = await server();
    await call(a, 'POST', '/v1/lpars', { kernel: '5.16' }); // the ids differ between the two
    assert.equal((await call(a, 'POST', '/v1/lpars', { kernel: '4.18', name: 'bug' })).status, 201);
    for (const destination of ['p9-beta', 'p9-alpha'])
      assert.equal((await call(a, 'POST', '/v1/lpars/bug/migrations', { destination })).status, 201);
    assert.equal(
      (await call(a, 'POST', '/v1/lpars/bug/proc/ppc64/ofdt', undefined, 'add_node /vdevice/j@1 name 2 j\0'))
        .status,
      200,
    );
    const exported = await call(a, 'GET', '/v1/lpars/bug/journal');
    assert.equal(exported.status, 200, exported.text);
    const file = join(dir, 'bug.jsonl');
    writeFileSync(file, exported.text);
    const trailer = JSON.parse(exported.text.trimEnd().split('\n').at(-1)!) as { digest: string };

    const b = await server();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['src/client/cli.ts', '--url', b, '--json', 'import', file],
      {
        cwd: ROOT,
      },
    );
    assert.deepEqual(JSON.parse(stdout), { id: 'lpar-1', name: 'bug' });
    assert.deepEqual(await view(b, 'bug'), await view(a, 'bug'));
    // The imported LPAR's export digests the same after every line, ending at the same digest.
    const again = await call(b, 'GET', '/v1/lpars/bug/journal');
    assert.equal(JSON.parse(again.text.trimEnd().split('\n').at(-1)!).digest, trailer.digest);
    assert.deepEqual(again.text.split('\n').slice(1), exported.text.split('\n').slice(1));
    // A second import of the same file, under another name, answers the digest in its header.
    const copy = await request(`${b}/v1/lpars/import?name=bug-copy`, {
      method: 'POST',
      body: exported.text,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    await copy.body.text();
    assert.equal(copy.statusCode, 201);
    assert.equal(copy.headers['x-lparsim-digest'], trailer.digest);
  });
});
