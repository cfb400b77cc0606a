// Raw bodies over a real socket (src/http/raw-body.ts): a DTB sent chunked, without Content-Length,
// boots the same tree as one sent with it; the body limit holds for both forms, as a 413 problem.

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { testApp } from '../helpers/app.ts';

/** The body in pieces of `size` bytes, as a chunked upload sends it. */
function pieces(body: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let off = 0; off < body.length; off += size) yield body.subarray(off, off + size);
    })(),
  );
}

async function upload(url: string, body: Buffer | Readable) {
  const res = await request(`${url}/v1/lpars/from-dtb?kernel=5.8`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
  return {
    status: res.statusCode,
    type: String(res.headers['content-type']),
    doc: (await res.body.json()) as { id: string },
  };
}

describe('raw request bodies over a socket', () => {
  let url = '';
  let small = '';
  let dtb: Buffer;
  let close: () => Promise<void>;
  before(async () => {
    const { app } = await testApp();
    const { app: limited } = await testApp({ LPARSIM_BODY_LIMIT_BYTES: '4096' });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    small = await limited.listen({ port: 0, host: '127.0.0.1' });
    close = async () => {
      await app.close();
      await limited.close();
    };
    const created = await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } });
    const id = created.json().id;
    dtb = (await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload;
    assert.ok(dtb.length > 4096);
  });
  after(() => close());

  it('a chunked upload boots the same tree as one with Content-Length', async () => {
    const whole = await upload(url, dtb);
    const chunked = await upload(url, pieces(dtb, 1000));
    assert.equal(whole.status, 201, JSON.stringify(whole.doc));
    assert.equal(chunked.status, 201, JSON.stringify(chunked.doc));
    const a = await request(`${url}/v1/lpars/${whole.doc.id}/tree.dtb`);
    const b = await request(`${url}/v1/lpars/${chunked.doc.id}/tree.dtb`);
    assert.ok(Buffer.from(await a.body.arrayBuffer()).equals(Buffer.from(await b.body.arrayBuffer())));
  });

  it('a body over LPARSIM_BODY_LIMIT_BYTES is a 413 problem, declared or chunked, and boots nothing', async () => {
    for (const body of [dtb, pieces(dtb, 1000)]) {
      const res = await upload(small, body);
      assert.equal(res.status, 413);
      assert.match(res.type, /application\/problem\+json/);
    }
    const list = await request(`${small}/v1/lpars`);
    assert.equal(((await list.body.json()) as { items: unknown[] }).items.length, 0);
  });

  it('a body within the limit, chunked in odd pieces, is read whole', async () => {
    const cmd = Buffer.from('add_node /vdevice/x@1 name 2 x\0');
    const created = await request(`${small}/v1/lpars`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kernel: '5.8' }),
    });
    const id = ((await created.body.json()) as { id: string }).id;
    const res = await request(`${small}/v1/lpars/${id}/proc/ppc64/ofdt`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: pieces(cmd, 3),
    });
    assert.equal(res.statusCode, 200, await res.body.text());
    const node = await request(`${small}/v1/lpars/${id}/nodes?path=/vdevice/x@1`);
    assert.equal(node.statusCode, 200);
    await node.body.dump();
  });
});
