// Whose bytes a decoded tree's property values are (src/of/fdt.ts, issue 10's decode speed-up): a plain
// decode never aliases the blob, a shared decode views the blob for small values and copies large ones;
// the steps still come at most FDT_NODES_PER_STEP nodes apart.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FDT_NODES_PER_STEP,
  type FdtNode,
  fdtDecode,
  fdtDecodeBlob,
  fdtDecodeSteps,
  fdtEncode,
  SHARED_VALUE_MAX,
} from '../../src/of/fdt.ts';
import { enc } from '../../src/of/property.ts';

const LIMITS = { maxNodes: 10_000, maxDepth: 8 };

function tree(): FdtNode {
  return {
    name: '',
    props: [
      { name: 'model', value: enc.string('IBM,9009-42A') },
      { name: 'big', value: new Uint8Array(SHARED_VALUE_MAX + 4).fill(7) },
      { name: 'empty', value: enc.empty() },
    ],
    children: [{ name: 'cpus', props: [{ name: 'reg', value: enc.u32(8, 9) }], children: [] }],
  };
}

/** A blob at an odd offset of a larger buffer, as a view a caller might pass. */
function offsetBlob(): Uint8Array {
  const blob = fdtEncode(tree());
  const buf = new Uint8Array(blob.length + 3);
  buf.set(blob, 3);
  return buf.subarray(3);
}

describe('decoded values', () => {
  it('a plain decode equals the tree and keeps its values when the blob changes', () => {
    const blob = offsetBlob();
    const root = fdtDecode(blob, LIMITS);
    assert.deepEqual(root, tree());
    blob.fill(0xff);
    assert.deepEqual(root, tree());
  });

  it('a shared decode views the blob for small values and copies large ones', () => {
    const blob = offsetBlob();
    const root = fdtDecodeBlob(blob, LIMITS, { shareValues: true }).root;
    assert.deepEqual(root, tree());
    const model = root.props[0]!.value;
    const big = root.props[1]!.value;
    assert.equal(model.buffer, blob.buffer);
    assert.notEqual(big.buffer, blob.buffer);
    blob.fill(0);
    assert.equal(model[0], 0);
    assert.equal(big[0], 7);
  });

  it('yields at least once per FDT_NODES_PER_STEP nodes', () => {
    const wide: FdtNode = {
      name: '',
      props: [],
      children: Array.from({ length: 3 * FDT_NODES_PER_STEP }, (_, i) => ({
        name: `n@${i}`,
        props: [{ name: 'reg', value: enc.u32(i) }],
        children: [],
      })),
    };
    const steps = fdtDecodeSteps(fdtEncode(wide), LIMITS);
    let yields = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) yields += 1;
    assert.ok(yields >= 3, `${yields} steps`);
    assert.deepEqual(r.value.root, wide);
  });
});
