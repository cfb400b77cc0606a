// Every size up to the limits works, or is refused with a 4xx naming the limit (issue 10, point 4):
// node counts are checked from the options or from a scan of the blob before any work, uploads deeper
// or bigger than the limits are 413, growth by ofdt writes stays within what an upload accepts, and
// lparsim's own tree.dtb of the largest trees boots again under the default limits.
//
// The two 250,000-node tests are the slow ones of this file (about 10 s and 25 s on 2 cores): each
// boots its tree twice, because the round trip is what they prove.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../src/config.ts';
import { type FdtNode, fdtEncode, fdtScan } from '../../src/of/fdt.ts';
import { enc } from '../../src/of/property.ts';
import { fingerprint, ofdtWrite, problemKind, problemOf, testApp } from '../helpers/app.ts';

const upload = (app: FastifyInstance, blob: Uint8Array, query = 'kernel=5.8') =>
  app.inject({
    method: 'POST',
    url: `/v1/lpars/from-dtb?${query}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength),
  });

/** A root with one node holding `n` leaves (n + 2 nodes in all). */
function flat(n: number): FdtNode {
  const children: FdtNode[] = [];
  for (let i = 0; i < n; i++) children.push({ name: `leaf@${i.toString(16)}`, props: [], children: [] });
  return { name: '', props: [], children: [{ name: 'wide', props: [], children }] };
}

/** A chain of `levels` nodes, the root included (its deepest node is at depth levels - 1). */
function chain(levels: number): FdtNode {
  const root: FdtNode = { name: '', props: [{ name: '#address-cells', value: enc.u32(1) }], children: [] };
  let cur = root;
  for (let d = 1; d < levels; d++) {
    const next: FdtNode = { name: `level@${d}`, props: [{ name: 'reg', value: enc.u32(d) }], children: [] };
    cur.children.push(next);
    cur = next;
  }
  return root;
}

describe('node and depth limits, checked before any work', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await testApp({ LPARSIM_MAX_NODES_PER_LPAR: '1000' }));
  });
  after(() => app.close());

  it('a built-in tree is counted exactly from its options: 999 nodes boot, 1002 are a 413 naming the limit', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.8', options: { cores: 326 } },
    });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().nodes, 999);
    const before = await fingerprint(app, ok.json().id);
    const over = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.8', options: { cores: 327 } },
    });
    assert.equal(over.statusCode, 413);
    assert.equal(problemKind(problemOf(over)), 'limit');
    assert.match(problemOf(over).detail, /1002 nodes; at most 1000 per LPAR \(LPARSIM_MAX_NODES_PER_LPAR\)/);
    assert.equal(await fingerprint(app, ok.json().id), before);
    // The refusal took no id: the next LPAR is lpar-2.
    const next = await app.inject({ method: 'POST', url: '/v1/lpars', payload: { kernel: '5.8' } });
    assert.equal(next.json().id, 'lpar-2');
  });

  it('an upload is counted from a scan of its tokens: 1000 nodes boot, 1001 are a 413 naming the limit', async () => {
    const ok = await upload(app, fdtEncode(flat(998)));
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().nodes, 1000);
    const over = await upload(app, fdtEncode(flat(999)));
    assert.equal(over.statusCode, 413);
    assert.match(
      problemOf(over).detail,
      /more than 1000 nodes; at most 1000 per LPAR \(LPARSIM_MAX_NODES_PER_LPAR\)/,
    );
  });

  it('64 levels boot and come back out; 65 are a 413 naming LPARSIM_MAX_TREE_DEPTH', async () => {
    const ok = await upload(app, fdtEncode(chain(64)));
    assert.equal(ok.statusCode, 201, ok.body);
    const id = ok.json().id;
    const deepest = `/${Array.from({ length: 63 }, (_, i) => `level@${i + 1}`).join('/')}`;
    const node = await app.inject({ url: `/v1/lpars/${id}/nodes?path=${encodeURIComponent(deepest)}` });
    assert.equal(node.statusCode, 200, node.body);
    const dtb = (await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload;
    assert.equal(fdtScan(dtb, { maxNodes: 1000, maxDepth: 64 }).maxDepth, 63);
    assert.equal((await upload(app, dtb)).statusCode, 201);
    const over = await upload(app, fdtEncode(chain(65)));
    assert.equal(over.statusCode, 413);
    assert.match(problemOf(over).detail, /deeper than 64; at most 64 levels \(LPARSIM_MAX_TREE_DEPTH\)/);
  });

  it('ofdt cannot grow a tree past what an upload accepts: nodes and depth are 413, nothing changes', async () => {
    const full = await upload(app, fdtEncode(flat(998)));
    const id = full.json().id;
    const before = await fingerprint(app, id);
    const res = await ofdtWrite(app, id, 'add_node /wide/one-more name 4 one\0');
    assert.equal(res.statusCode, 413, res.body);
    assert.match(
      problemOf(res).detail,
      /1000 attached nodes; at most 1000 per LPAR \(LPARSIM_MAX_NODES_PER_LPAR\)/,
    );
    assert.equal(await fingerprint(app, id), before);
    const deep = (await upload(app, fdtEncode(chain(64)))).json().id;
    const path = `/${Array.from({ length: 63 }, (_, i) => `level@${i + 1}`).join('/')}/level@64`;
    const tooDeep = await ofdtWrite(app, deep, `add_node ${path} name 6 level\0`);
    assert.equal(tooDeep.statusCode, 413, tooDeep.body);
    assert.match(problemOf(tooDeep).detail, /LPARSIM_MAX_TREE_DEPTH/);
    // A write longer than LPARSIM_MAX_OFDT_WRITE_BYTES (16 MiB) is refused before it is parsed, though
    // the body limit (for DTB uploads) is larger.
    const long = await ofdtWrite(
      app,
      deep,
      `add_node /big blob ${16 * 1024 * 1024} ${'b'.repeat(16 * 1024 * 1024)}`,
    );
    assert.equal(long.statusCode, 413);
    assert.match(problemOf(long).detail, /larger than 16777216 bytes \(LPARSIM_MAX_OFDT_WRITE_BYTES\)/);
    // One level less is an ordinary kernel write.
    const parent = `/${Array.from({ length: 62 }, (_, i) => `level@${i + 1}`).join('/')}`;
    const ok = await ofdtWrite(app, deep, `add_node ${parent}/sibling name 8 sibling\0`);
    assert.equal(ok.statusCode, 200, ok.body);
  });
});

describe('sizes under the default limits', () => {
  let app: FastifyInstance;
  before(async () => {
    ({ app } = await testApp());
  });
  after(() => app.close());

  it('trees of 1k and 10k nodes boot, and their tree.dtb boots again', async () => {
    for (const nodes of [1_000, 10_000]) {
      const cores = Math.floor((nodes - 21) / 3);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/lpars',
        payload: { kernel: '5.8', options: { cores } },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().nodes, 21 + 3 * cores);
      const dtb = (await app.inject({ url: `/v1/lpars/${res.json().id}/tree.dtb` })).rawPayload;
      const again = await upload(app, dtb);
      assert.equal(again.statusCode, 201, again.body);
      assert.equal(again.json().nodes, res.json().nodes);
    }
  });

  it('300,000 nodes from the options are refused at once, before any tree exists', async () => {
    const start = performance.now();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.8', options: { cores: 100_000 } },
    });
    assert.equal(res.statusCode, 413);
    assert.match(
      problemOf(res).detail,
      /300021 nodes; at most 250000 per LPAR \(LPARSIM_MAX_NODES_PER_LPAR\)/,
    );
    // Generating 300k nodes takes seconds; the refusal is a count.
    assert.ok(performance.now() - start < 1000);
  });

  it('a flat tree of 250,000 children is a 413 naming the limit; 249,998 under one node boot, export and boot again', async () => {
    const over = await upload(app, fdtEncode(flat(250_000)));
    assert.equal(over.statusCode, 413);
    assert.match(problemOf(over).detail, /LPARSIM_MAX_NODES_PER_LPAR/);
    const res = await upload(app, fdtEncode(flat(249_998)));
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().nodes, 250_000);
    const id = res.json().id;
    const listing = await app.inject({ url: `/v1/lpars/${id}/nodes?path=/wide/leaf@3d08d` });
    assert.equal(listing.statusCode, 200, listing.body);
    const dtb = (await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload;
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
    const again = await upload(app, dtb);
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.json().nodes, 250_000);
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${again.json().id}` });
  });

  it('the largest built-in tree (249,999 nodes): its tree.dtb fits the default body limit and boots again', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/lpars',
      payload: { kernel: '5.8', options: { cores: 83_326, memoryGiB: 8192 } },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().nodes, 249_999);
    const id = res.json().id;
    const dtb = (await app.inject({ url: `/v1/lpars/${id}/tree.dtb` })).rawPayload;
    assert.ok(dtb.length > 60_000_000 && dtb.length < DEFAULT_BODY_LIMIT_BYTES, `${dtb.length} bytes`);
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${id}` });
    const again = await upload(app, dtb);
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.json().nodes, 249_999);
    await app.inject({ method: 'DELETE', url: `/v1/lpars/${again.json().id}` });
  });
});
