// arch/powerpc/platforms/pseries/rng.c (E14, K-DRV-5): rng_init finds the first node compatible with
// `ibm,random` to decide whether to install the arch random hook. Before 5.15 it never puts that
// reference, so the boot `ibm,random-v1` node stays held (holder `rng_init`) after any migration
// detaches it; the `rngInitPut` switch is the fix.

import { inFrameSteps, ofFindCompatibleNodeSteps } from '../of/base.ts';
import { completeSteps } from '../of/fdt.ts';
import { ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';

const HOLDER = 'rng_init';

/** machine_subsys_initcall(pseries, rng_init) */
export function rngInit(of: OfState): boolean {
  return completeSteps(rngInitSteps(of));
}

/**
 * rngInit in steps: its of_find_compatible_node walks every node before /ibm,platform-facilities
 * (all of /cpus), so it yields every WALK_NODES_PER_STEP nodes (ofFindCompatibleNodeSteps).
 */
export function rngInitSteps(of: OfState): Generator<void, boolean, undefined> {
  return inFrameSteps(of, 'rng_init', registerRng(of));
}

function* registerRng(of: OfState): Generator<void, boolean, undefined> {
  const dn = yield* ofFindCompatibleNodeSteps(of, null, 'ibm,random', HOLDER);
  if (!dn) return false; // -ENODEV
  of.k.printk('info', 'pseries-rng: Registering arch random hook.');
  if (of.k.profile.rngInitPut) ofNodePut(of, dn, HOLDER);
  return true;
}
