import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachOfAllnodes, ofFindProperty, ofPeekNodeByPath } from '../../src/of/base.ts';
import { nodeState } from '../../src/of/node.ts';
import {
  cacheSlots,
  hash32,
  ofFindNodeByPhandle,
  ofRebuildPhandleCache,
} from '../../src/of/phandle-cache.ts';
import { cString, readU32, u32Cells } from '../../src/of/property.ts';
import { ofNodePut } from '../../src/of/refs.ts';
import { newLpar } from '../helpers/model.ts';

/** Independent calculation: slots used by a list of phandles under a slot function, first or last wins. */
function bootCollisions(phandles: number[], slotOf: (h: number) => number): number {
  return phandles.length - new Set(phandles.map(slotOf)).size;
}

function phandles(lpar: ReturnType<typeof newLpar>): number[] {
  return [...forEachOfAllnodes(lpar.of)].map((n) => n.phandle).filter((h) => h !== 0 && h !== 0xdeadbeef);
}

/** The node with phandle `h`, read without a lookup. */
function byPhandle(lpar: ReturnType<typeof newLpar>, h: number) {
  return [...forEachOfAllnodes(lpar.of)].find((n) => n.phandle === h)!;
}

/**
 * E10: at boot cacheinfo walks, for every logical CPU in order, from its cpu node along `l2-cache` /
 * `next-level-cache` by phandle; each of_find_node_by_phandle that misses stores the node it walked to.
 */
function bootCacheLookups(
  lpar: ReturnType<typeof newLpar>,
  slots: Map<number, number>,
  slotOf: (h: number) => number,
): void {
  const cpus = ofPeekNodeByPath(lpar.of, '/cpus')!;
  for (let cpu = cpus.child; cpu; cpu = cpu.sibling) {
    if (cString(ofFindProperty(cpu, 'device_type')?.value ?? new Uint8Array()) !== 'cpu') continue;
    const threads = u32Cells(ofFindProperty(cpu, 'ibm,ppc-interrupt-server#s')!.value).length;
    for (let t = 0; t < threads; t++) {
      for (let np = cpu; ; ) {
        const link = ofFindProperty(np, 'l2-cache') ?? ofFindProperty(np, 'next-level-cache');
        if (!link) break;
        const h = readU32(link.value)!;
        if (slots.get(slotOf(h)) !== h) slots.set(slotOf(h), h);
        np = byPhandle(lpar, h);
      }
    }
  }
}

describe('phandle cache models (K-CACHE)', () => {
  it('hash_32 is the top 7 bits of h * 0x61C88647', () => {
    assert.equal(hash32(0xfffffff5, 7), Number(((BigInt(0xfffffff5) * 0x61c88647n) % 2n ** 32n) >> 25n));
    assert.equal(hash32(1, 7), 0x61c88647 >>> 25);
  });

  it('pow2 is sized to the phandle count rounded up, filled last-wins; hash128 has 128 slots filled first-wins; boot lookups then store what they miss (E10)', () => {
    const pow2 = newLpar('4.18');
    const n = phandles(pow2).length;
    const size = 2 ** Math.ceil(Math.log2(n));
    assert.equal(pow2.of.cache.slots.length, size);
    // last wins: each occupied slot holds the last node of walk order with that slot...
    const lastBySlot = new Map<number, number>();
    for (const h of phandles(pow2)) lastBySlot.set(h & (size - 1), h);
    // ...until cacheinfo's l2-cache lookups at boot (E10) replace the slots they miss in.
    bootCacheLookups(pow2, lastBySlot, (h) => h & (size - 1));
    for (const { slot, node } of cacheSlots(pow2.of.cache)) assert.equal(node.phandle, lastBySlot.get(slot));
    assert.equal(cacheSlots(pow2.of.cache).length, lastBySlot.size);
    // A rebuild (of_populate_phandle_cache) refills as of_core_init did, without the lookups.
    ofRebuildPhandleCache(pow2.of);
    const refilled = new Map<number, number>();
    for (const h of phandles(pow2)) refilled.set(h & (size - 1), h);
    for (const { slot, node } of cacheSlots(pow2.of.cache)) assert.equal(node.phandle, refilled.get(slot));
    const hash = newLpar('5.8');
    const firstBySlot = new Map<number, number>();
    for (const h of phandles(hash)) if (!firstBySlot.has(hash32(h, 7))) firstBySlot.set(hash32(h, 7), h);
    bootCacheLookups(hash, firstBySlot, (h) => hash32(h, 7));
    assert.equal(hash.of.cache.slots.length, 128);
    for (const { slot, node } of cacheSlots(hash.of.cache)) assert.equal(node.phandle, firstBySlot.get(slot));
    assert.equal(cacheSlots(hash.of.cache).length, firstBySlot.size);
  });

  it('boot-time collisions for a 64-core power9 LPAR, phyp vs dtc, match an independent calculation', () => {
    const figures: Record<string, number> = {};
    for (const scheme of ['phyp', 'dtc'] as const) {
      for (const kernel of ['4.18', '5.8']) {
        const lpar = newLpar(kernel, { phandleScheme: scheme, options: { cores: 64 } });
        const hs = phandles(lpar);
        const size = 2 ** Math.ceil(Math.log2(hs.length));
        const expected =
          kernel === '4.18'
            ? bootCollisions(hs, (h) => h & (size - 1))
            : bootCollisions(hs, (h) => hash32(h, 7));
        assert.equal(lpar.of.cache.fillCollisions, expected, `${kernel} ${scheme}`);
        figures[`${kernel === '4.18' ? 'pow2' : 'hash128'}/${scheme}`] = expected;
      }
    }
    // dtc numbers 1..n: no power-of-two collisions at all; PowerVM's scattered values collide.
    assert.equal(figures['pow2/dtc'], 0);
    assert.ok(figures['pow2/phyp']! > 0);
    assert.ok(
      figures['hash128/phyp']! > 0 && figures['hash128/dtc']! > 0,
      '128 slots for ~230 phandles must collide',
    );
  });

  it('pow2-refs takes a cache reference per stored node; a detached hit WARNs, evicts and walks', () => {
    const lpar = newLpar('5.0');
    const vty = ofPeekNodeByPath(lpar.of, '/vdevice/vty@30000000')!;
    const inCache = lpar.of.cache.slots.includes(vty);
    assert.equal(vty.holders.get('phandle_cache') ?? 0, inCache ? 1 : 0);
    // A node put in the cache by a lookup holds a cache reference until evicted.
    const { node } = ofFindNodeByPhandle(lpar.of, vty.phandle, 't');
    ofNodePut(lpar.of, node, 't');
    assert.equal(vty.holders.get('phandle_cache'), 1);
    // Force a stale slot by detaching behind the cache's back (as a buggy path would), then look up.
    vty.flags |= 4; // OF_DETACHED without eviction
    const r = ofFindNodeByPhandle(lpar.of, vty.phandle, 't');
    assert.equal(r.node, null);
    assert.equal(lpar.k.counters.warnings, 1);
    assert.equal(vty.holders.has('phandle_cache'), false);
    // E12: 5.0's WARN_ON(1) at base.c:1240 is a bare trap: no cut-here line before it.
    const log = lpar.k.log.lines.map((l) => l.text);
    assert.ok(
      log.some((l) =>
        /^WARNING: CPU: 0 PID: \d+ at drivers\/of\/base\.c:1240 of_find_node_by_phandle\+0x[0-9a-f]+\/0x[0-9a-f]+$/.test(
          l,
        ),
      ),
    );
    assert.equal(log.includes('------------[ cut here ]------------'), false);
  });

  it('rebuild refills as at boot (pow2 models only)', () => {
    const lpar = newLpar('4.18');
    const before = cacheSlots(lpar.of.cache).map((s) => s.slot);
    assert.equal(ofRebuildPhandleCache(lpar.of), true);
    assert.deepEqual(
      cacheSlots(lpar.of.cache).map((s) => s.slot),
      before,
    );
    assert.equal(ofRebuildPhandleCache(newLpar('5.8').of), false);
    assert.equal(ofRebuildPhandleCache(newLpar('4.16').of), false);
  });

  it('every lookup model finds attached nodes; counters count hits, misses and collisions', () => {
    for (const kernel of ['4.16', '4.18', '5.0', '5.8']) {
      const lpar = newLpar(kernel);
      for (const np of forEachOfAllnodes(lpar.of)) {
        const r = ofFindNodeByPhandle(lpar.of, np.phandle, 't');
        assert.equal(r.node?.phandle, np.phandle, kernel);
        assert.equal(nodeState(r.node!), 'attached');
        ofNodePut(lpar.of, r.node, 't');
      }
      const c = lpar.of.cache.counters;
      assert.equal(c.lookups, c.hits + c.misses);
      if (kernel === '4.16') assert.equal(c.hits, 0);
    }
  });
});
