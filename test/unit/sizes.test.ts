// Every size up to the limits (issue 10, point 4), at the model level: node counts known before any
// work, the FDT codec and DTS writer on very wide and very deep trees (no recursion or argument
// spread by tree size), chunked boots that allocate exactly as the unchunked loop did, and exports
// from the live tree that equal the exports of its flattened copy.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateNodes } from '../../src/lpar/registry.ts';
import { dtsChunks, toDts } from '../../src/of/dts.ts';
import {
  FdtLimitError,
  type FdtNode,
  fdtDecodeBlob,
  fdtEncode,
  fdtEncodeChunks,
  fdtScan,
  fdtTree,
  walkTree,
} from '../../src/of/fdt.ts';
import { BootImage } from '../../src/of/image.ts';
import { enc } from '../../src/of/property.ts';
import { ofStateInit } from '../../src/of/state.ts';
import { liveTree, ofFlattenLiveTree, unflattenDeviceTree } from '../../src/of/unflatten.ts';
import { cpusImageNodes, recordPartition } from '../../src/pseries/firmware.ts';
import { BUILTIN_SYSTEMS } from '../../src/pseries/systems.ts';
import { DEFAULT_TREE_OPTIONS, generateTree, type TreeOptions, treeProfile } from '../../src/pseries/tree.ts';
import { kernelFor, newLpar } from '../helpers/model.ts';

const system = (name: string) => BUILTIN_SYSTEMS.find((s) => s.name === name)!;

function count(root: FdtNode): number {
  let n = 0;
  for (const step of walkTree(root, fdtTree)) if (step.open) n += 1;
  return n;
}

/** A root with one child holding `n` leaves. */
function wide(n: number, props = 0): FdtNode {
  const children: FdtNode[] = [];
  for (let i = 0; i < n; i++) {
    const p = [];
    for (let j = 0; j < props; j++) p.push({ name: `p${j}`, value: enc.u32(i) });
    children.push({ name: `leaf@${i.toString(16)}`, props: p, children: [] });
  }
  return { name: '', props: [], children: [{ name: 'wide', props: [], children }] };
}

/** A chain `depth` nodes deep below the root (the deepest node is at depth `depth`). */
function deep(depth: number): FdtNode {
  const root: FdtNode = { name: '', props: [], children: [] };
  let cur = root;
  for (let d = 1; d <= depth; d++) {
    const next: FdtNode = { name: `d${d}`, props: [{ name: 'reg', value: enc.u32(d) }], children: [] };
    cur.children.push(next);
    cur = next;
  }
  return root;
}

describe('node counts before any work (estimateNodes)', () => {
  it('is exact for every mix of options', () => {
    const cases: Array<[string, Partial<TreeOptions>]> = [
      ['power9', {}],
      ['power9', { cores: 1 }],
      ['power9', { cores: 333, extraVirtualAdapters: 7, pciAdapters: 5 }],
      ['power9', { cores: 20, platformFacilities: ['random'] }],
      ['power9', { cores: 20, platformFacilities: [] }],
      ['power10', { cores: 40, threadsPerCore: 4, pciAdapters: 2, phandleScheme: 'dtc' }],
    ];
    for (const [profile, o] of cases) {
      const options = { ...DEFAULT_TREE_OPTIONS, ...o };
      const t = generateTree(
        treeProfile(profile)!,
        system(profile === 'power9' ? 'p9-alpha' : 'p10-alpha'),
        options,
      );
      assert.equal(estimateNodes(options), count(t), JSON.stringify(o));
    }
  });
});

describe('fdtScan: what a blob holds, counted without building it', () => {
  it('agrees with the decode, and refuses the node and depth limits as FdtLimitError', () => {
    const t = generateTree(treeProfile('power9')!, system('p9-alpha'), {
      ...DEFAULT_TREE_OPTIONS,
      cores: 30,
    });
    const blob = fdtEncode(t);
    const scan = fdtScan(blob, { maxNodes: 1000, maxDepth: 8 });
    let props = 0;
    let bytes = 0;
    for (const step of walkTree(t, fdtTree))
      if (step.open)
        for (const p of step.node.props) {
          props += 1;
          bytes += p.value.length;
        }
    assert.deepEqual(
      [scan.nodes, scan.properties, scan.valueBytes, scan.maxDepth, scan.totalSize],
      [count(t), props, bytes, 2, blob.length],
    );
    assert.throws(
      () => fdtScan(blob, { maxNodes: scan.nodes - 1, maxDepth: 8 }),
      (e) => e instanceof FdtLimitError && e.limit === 'nodes',
    );
    assert.throws(
      () => fdtScan(fdtEncode(deep(8)), { maxNodes: 1000, maxDepth: 8 }),
      (e) => e instanceof FdtLimitError && e.limit === 'depth',
    );
    assert.equal(fdtScan(fdtEncode(deep(7)), { maxNodes: 1000, maxDepth: 8 }).maxDepth, 7);
  });
});

describe('wide and deep trees (no recursion, no spread by tree size)', () => {
  it('a flat tree of 250,000 children: encode, scan, decode, DTS and a live round trip', () => {
    const t = wide(250_000);
    const blob = fdtEncode(t);
    const limits = { maxNodes: 250_002, maxDepth: 64 };
    assert.equal(fdtScan(blob, limits).nodes, 250_002);
    const back = fdtDecodeBlob(blob, limits, { shareValues: true });
    assert.equal(back.root.children[0]!.children.length, 250_000);
    assert.ok(toDts(back.root).endsWith('\t\tleaf@3d08f {\n\t\t};\n\t};\n};\n'));
  });

  it('a chain 100,000 deep: encode, scan, decode, DTS, unflatten and flatten', () => {
    const t = deep(100_000);
    const blob = fdtEncode(t);
    const limits = { maxNodes: 200_000, maxDepth: 200_000 };
    assert.equal(fdtScan(blob, limits).maxDepth, 100_000);
    const back = fdtDecodeBlob(blob, limits);
    assert.deepEqual(fdtEncode(back.root), blob);
    // DTS indents by depth, so its text grows with the square of it: a shorter chain shows the walk.
    let dts = '';
    for (const c of dtsChunks(deep(2000), fdtTree)) dts += c ?? '';
    assert.equal(dts.split('\n').filter((l) => l.endsWith('};')).length, 2001);
    const of = ofStateInit(kernelFor('5.8'));
    const root = unflattenDeviceTree(of, back.root);
    assert.equal(of.nodes.size, 100_001);
    assert.equal(fdtScan(fdtEncode(ofFlattenLiveTree(root)), limits).maxDepth, 100_000);
  });

  it('a built-in tree of 250,000 nodes generates (the drc lists are not spread into calls)', () => {
    const options = { ...DEFAULT_TREE_OPTIONS, cores: 83_326, memoryGiB: 8192 };
    const t = generateTree(treeProfile('power9')!, system('p9-alpha'), options);
    assert.equal(count(t), estimateNodes(options));
    assert.equal(estimateNodes(options), 249_999);
    // Firmware records the boot tree right after unflatten, pointing into the boot image.
    const of = ofStateInit(kernelFor('5.8'));
    const image = new BootImage();
    const root = unflattenDeviceTree(of, t, image);
    const record = recordPartition(t, 8192, image, cpusImageNodes(root));
    assert.equal(record.cacheNodes.length, 2 * 83_326);
    const last = record.cacheNodes.at(2 * 83_326 - 1);
    assert.deepEqual(record.cacheNodes.nodeForDrc(last.drc), t.children[7]!.children.at(-1));
  });
});

describe('chunked boot', () => {
  it('allocates nodes in the order of the unchunked loop, across steps and wide nodes', () => {
    // The order the original loop allocated in: a node's children in order, then the last child's
    // subtree first (a LIFO stack of whole child lists).
    const t = wide(700, 1);
    t.children.push({ name: 'tail', props: [], children: wide(300).children[0]!.children });
    for (const c of wide(600).children[0]!.children) t.children[0]!.children[5]!.children.push(c);
    const expected: string[] = ['/'];
    const stack: FdtNode[] = [t];
    while (stack.length) {
      const f = stack.pop()!;
      for (const c of f.children) {
        expected.push(c.name);
        stack.push(c);
      }
    }
    const of = ofStateInit(kernelFor('5.8'));
    unflattenDeviceTree(of, t);
    assert.deepEqual(
      [...of.nodes.values()].map((np) => np.fullName),
      expected,
    );
    const addresses = [...of.nodes.keys()];
    assert.deepEqual(addresses, [...addresses].sort());
  });

  it('exports from the live tree equal the exports of its flattened copy', () => {
    const lpar = newLpar('5.8', { options: { cores: 120, pciAdapters: 2 } });
    const root = lpar.of.root!;
    const parts: Uint8Array[] = [];
    for (const c of fdtEncodeChunks(root, liveTree, undefined, 1024)) if (c) parts.push(c);
    assert.deepEqual(Buffer.concat(parts), Buffer.from(fdtEncode(ofFlattenLiveTree(root))));
    let dts = '';
    for (const c of dtsChunks(root, liveTree)) if (c) dts += c;
    assert.equal(dts, toDts(ofFlattenLiveTree(root)));
  });

  it('an encode that sees the tree change between its passes throws instead of lying', () => {
    for (const name of ['p0', 'new-name']) {
      const t = wide(3000, 1);
      const chunks = fdtEncodeChunks(t, fdtTree);
      while (chunks.next().value === null); // the first pass is done, the second has begun
      t.children[0]!.children.at(-1)!.props.push({ name, value: enc.u32(1) });
      assert.throws(() => {
        for (const _ of chunks);
      }, /changed while it was being encoded/);
    }
  });
});
