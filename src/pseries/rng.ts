// arch/powerpc/platforms/pseries/rng.c (E14, K-DRV-5): rng_init finds the first node compatible with
// `ibm,random` to decide whether to install the arch random hook. Before 5.15 it never puts that
// reference, so the boot `ibm,random-v1` node stays held (holder `rng_init`) after any migration
// detaches it; the `rngInitPut` switch is the fix.

import { ofFindCompatibleNode } from '../of/base.ts';
import { ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';

const HOLDER = 'rng_init';

/** machine_subsys_initcall(pseries, rng_init) */
export function rngInit(of: OfState): boolean {
  return of.k.fn('rng_init', () => {
    const dn = ofFindCompatibleNode(of, null, 'ibm,random', HOLDER);
    if (!dn) return false; // -ENODEV
    of.k.printk('info', 'pseries-rng: Registering arch random hook.');
    if (of.k.profile.rngInitPut) ofNodePut(of, dn, HOLDER);
    return true;
  });
}
