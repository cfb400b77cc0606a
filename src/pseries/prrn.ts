// PRRN, Platform Resource Reassignment Notification (K-PRRN): firmware tells a running partition, with
// no migration, that some of its resources moved. The notice arrives as an RTAS event log of type
// PRRN whose extended log length is the scope; rtasd's handle_rtas_event decides what to do with it
// (the profile's `prrnEvents`). Where the kernel acts, it runs the same ibm,update-nodes loop as after
// a migration (mobility.ts) with the negated scope, on the nodes firmware names.

import type { OfState } from '../of/state.ts';
import { type MobilityOperation, pseriesDevicetreeUpdate } from './mobility.ts';
import type { Rtas } from './rtas.ts';

/** The scope PowerVM puts in a PRRN event (the kernel passes its negation, PRRN_SCOPE, to update-nodes). */
export const PRRN_EVENT_SCOPE = 2;

/** What the kernel made of one PRRN event. */
export interface PrrnResult {
  /** The update loop ran. */
  readonly handled: boolean;
  /** pseries_devicetree_update's result (the kernel ignores it and prints nothing); 0 when not run. */
  readonly rc: number;
  readonly operations: MobilityOperation[];
}

/**
 * handle_rtas_event for an event of type RTAS_TYPE_PRRN with scope `scope` (rtasd.c). The 4.x kernels
 * defer the update to a work item (prrn_schedule_update, prrn_work_fn), 5.0 to 5.8 run it in rtasd
 * itself (handle_prrn_event); either way it is pseries_devicetree_update(-scope), then a NUMA topology
 * pass over the CPUs whose associativity changed (numa_update_cpu_topology, not modelled).
 */
export function handleRtasEvent(of: OfState, rtas: Rtas, scope: number): PrrnResult {
  return of.k.fn('handle_rtas_event', (): PrrnResult => {
    const mode = of.k.profile.prrnEvents;
    if (mode === 'ignored') {
      // pr_info_ratelimited in rtasd.c, which has no pr_fmt: the bare text.
      of.k.printk('info', 'Platform resource reassignment ignored.');
      return { handled: false, rc: 0, operations: [] };
    }
    // prrn_is_enabled() is false: topology updates are off (5.2 to 5.9 unless topology_updates=on).
    if (mode === 'disabled') return { handled: false, rc: 0, operations: [] };
    return of.k.fn('handle_prrn_event', (): PrrnResult => {
      const operations: MobilityOperation[] = [];
      const rc = pseriesDevicetreeUpdate(of, rtas, operations, -scope);
      return { handled: true, rc, operations };
    });
  });
}
