// vio_bus_init's driver inits in steps (issue 10, "never stall"): nx842_pseries_init's lookup walks
// the tree past /cpus and now yields as it goes, leaving the model as the one-piece init did.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WALK_NODES_PER_STEP } from '../../src/of/base.ts';
import { completeSteps } from '../../src/of/fdt.ts';
import { ofStateInit } from '../../src/of/state.ts';
import { ofCoreInit, ofFlattenLiveTree, unflattenDeviceTree } from '../../src/of/unflatten.ts';
import { vioBusInitSteps } from '../../src/pseries/vio.ts';
import { kernelFor, newLpar } from '../helpers/model.ts';

function bootedOf(fdt: ReturnType<typeof ofFlattenLiveTree>) {
  const of = ofStateInit(kernelFor('5.8'));
  unflattenDeviceTree(of, fdt);
  ofCoreInit(of);
  return of;
}

describe('vio_bus_init in steps', () => {
  it('yields while nx842_pseries_init walks a big tree, with the holders and log of the whole init', () => {
    // 800 cores: 2418 nodes, more than one walk step before ibm,compression.
    const fdt = ofFlattenLiveTree(newLpar('5.8', { options: { cores: 800 } }).of.root!);
    const stepped = bootedOf(fdt);
    const steps = vioBusInitSteps(stepped, false);
    let yields = 0;
    while (!steps.next().done) yields += 1;
    const whole = bootedOf(fdt);
    completeSteps(vioBusInitSteps(whole, false));
    // One step per driver, one per device batch, and the walk's own steps past /cpus.
    assert.ok(yields >= 3 + Math.floor((stepped.nodes.size - 4) / WALK_NODES_PER_STEP), `${yields} yields`);
    const holders = (of: typeof whole) =>
      [...of.nodes.values()].map((np) => [np.fullName, [...np.holders].sort(), np.kobj.ref.count]);
    assert.deepEqual(holders(stepped), holders(whole));
    assert.deepEqual(
      stepped.k.log.lines.map((l) => l.text),
      whole.k.log.lines.map((l) => l.text),
    );
    assert.ok(
      [...stepped.nodes.values()].some((np) => np.holders.has('nx842_pseries_init')),
      'the lookup reference is kept (E14)',
    );
    assert.deepEqual(
      stepped.reconfigChain.map((l) => l.name),
      whole.reconfigChain.map((l) => l.name),
    );
  });
});
