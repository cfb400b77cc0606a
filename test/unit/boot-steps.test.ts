// The boot's initcalls in bounded steps (issue 10, "never stall"): each of them yields as it goes
// through a big tree, and the stepped forms leave the model exactly as the one-piece calls did.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lparDigest } from '../../src/lpar/digest.ts';
import { bootLparSteps } from '../../src/lpar/lpar.ts';
import { runSliced } from '../../src/lpar/registry.ts';
import { ofFindCompatibleNode, ofFindCompatibleNodeSteps, WALK_NODES_PER_STEP } from '../../src/of/base.ts';
import { completeSteps } from '../../src/of/fdt.ts';
import { BootImage } from '../../src/of/image.ts';
import { ofPopulatePhandleCache, ofPopulatePhandleCacheSteps } from '../../src/of/phandle-cache.ts';
import { ofNodePut } from '../../src/of/refs.ts';
import { ofStateInit } from '../../src/of/state.ts';
import { ofCoreInit, ofFlattenLiveTree, unflattenDeviceTree } from '../../src/of/unflatten.ts';
import { cacheInfoNew, cacheinfoInitSteps } from '../../src/pseries/cacheinfo.ts';
import { CPUS_PER_STEP, topologyInitSteps } from '../../src/pseries/topology.ts';
import { kernelFor, newLpar } from '../helpers/model.ts';

/** Runs a step generator to its end; its value and how many times it yielded. */
function stepped<T>(steps: Generator<void, T, undefined>): { value: T; yields: number } {
  let yields = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { value: r.value, yields };
    yields += 1;
  }
}

describe('boot initcalls in steps', () => {
  // 800 cores of SMT8: 6400 hardware threads, so NR_CPUS (2048) logical CPUs; 2418 nodes, more than
  // one walk step.
  const lpar = newLpar('5.16', { options: { cores: 800 } });

  it('of_find_compatible_node yields every WALK_NODES_PER_STEP nodes and finds what the one-piece walk finds', () => {
    const { of } = lpar;
    const { value, yields } = stepped(ofFindCompatibleNodeSteps(of, null, 'ibm,compression', 'test'));
    const whole = ofFindCompatibleNode(of, null, 'ibm,compression', 'test');
    assert.ok(value && value === whole);
    assert.equal(yields, Math.floor((of.nodes.size - 4) / WALK_NODES_PER_STEP));
    ofNodePut(of, value, 'test');
    ofNodePut(of, whole, 'test');
  });

  it('the phandle cache fill in steps gives the slots of the one-piece fill (pow2 and hash128)', () => {
    for (const kernel of ['4.18', '5.16']) {
      const { of } = kernel === '5.16' ? lpar : newLpar(kernel, { options: { cores: 800 } });
      const addresses = () => of.cache.slots.map((np) => np?.address ?? null);
      const reset = () => {
        of.cache.slots = of.cache.model === 'hash128' ? new Array(of.cache.slots.length).fill(null) : [];
      };
      reset();
      ofPopulatePhandleCache(of);
      const whole = addresses();
      const collisions = of.cache.fillCollisions;
      reset();
      const { yields } = stepped(ofPopulatePhandleCacheSteps(of));
      assert.ok(yields >= 1, kernel);
      assert.deepEqual(addresses(), whole, kernel);
      assert.equal(of.cache.fillCollisions, collisions, kernel);
    }
  });

  it('topology_init and cacheinfo_init yield every CPUS_PER_STEP CPUs', () => {
    // The same tree booted up to the initcalls, on a state of its own.
    const of = ofStateInit(kernelFor('4.18'));
    unflattenDeviceTree(of, ofFlattenLiveTree(lpar.of.root!));
    ofCoreInit(of);
    const cpus = stepped(topologyInitSteps(of));
    assert.equal(cpus.value.devices.length, 2048);
    assert.ok(cpus.yields >= 2048 / CPUS_PER_STEP);
    const cache = stepped(cacheinfoInitSteps(of, cacheInfoNew()));
    assert.ok(cache.yields >= 2048 / CPUS_PER_STEP);
  });

  it('a boot that lets the event loop run at every step is the boot run in one piece', async () => {
    const fdt = ofFlattenLiveTree(lpar.of.root!);
    const whole = completeSteps(bootLparSteps(lpar.config, lpar.system, fdt));
    const sliced = await runSliced(bootLparSteps(lpar.config, lpar.system, fdt), 0);
    assert.equal(lparDigest(sliced), lparDigest(whole));
  });
});

describe('boot image in chunks and slabs', () => {
  it('gives back every value, empty, small, slab-sized and larger than a slab, across slab ends', () => {
    const image = new BootImage();
    const sizes = [0, 3, 262_144, 5, 262_140, 7, 600_001, 0, 1, 262_143, 2, 1_000_000, 4];
    const values = sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (i * 31 + j) & 0xff));
    // Many nodes, so the per-node and per-property arrays span several chunks.
    for (let i = 0; i < 40_000; i++) image.add(`n@${i}`, [{ name: 'reg', value: Uint8Array.of(i & 0xff) }]);
    image.add(
      'big',
      values.map((value, i) => ({ name: `p${i}`, value })),
    );
    image.seal();
    assert.equal(image.nodes, 40_001);
    assert.equal(image.count(40_000), sizes.length);
    const first = image.first(40_000);
    for (let i = 0; i < sizes.length; i++) {
      assert.equal(image.name(first + i), `p${i}`);
      assert.deepEqual(image.value(first + i), values[i], `value ${i}`);
    }
    for (let i = 0; i < 40_000; i += 997)
      assert.deepEqual(image.value(image.first(i)), Uint8Array.of(i & 0xff));
    assert.equal(image.valueBytes, 40_000 + sizes.reduce((a, b) => a + b, 0));
    assert.ok(image.bytes >= image.valueBytes);
  });
});
