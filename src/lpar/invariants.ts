// The invariants of DESIGN.md, checked against the live model (GET …/invariants and the property tests).

import type { KernfsDir } from '../kernel/kernfs.ts';
import { type Refcount, refcountMode, refcountStep } from '../kernel/refcount.ts';
import { ofNodeIsType } from '../of/base.ts';
import { type DeviceNode, nodeState, OF_DETACHED, OF_OVERLAY } from '../of/node.ts';
import type { Lpar } from './lpar.ts';

export interface InvariantResult {
  readonly name: string;
  readonly rule: string;
  readonly ok: boolean;
  readonly details: string[];
}

const MAX_DETAILS = 20;

function result(name: string, rule: string, details: string[]): InvariantResult {
  return { name, rule, ok: details.length === 0, details: details.slice(0, MAX_DETAILS) };
}

/** Every node's count equals what the K-REF rules give from its ledger of gets and puts. */
function refcountsMatchLedger(lpar: Lpar): InvariantResult {
  const mode = refcountMode(lpar.k);
  const details: string[] = [];
  for (const np of lpar.of.nodes.values()) {
    const ledger = np.refLedger;
    const replay: Refcount = { count: ledger.count, saturated: ledger.saturated };
    for (const op of ledger.ops()) refcountStep(mode, replay, op);
    if (replay.count !== np.kobj.ref.count || replay.saturated !== np.kobj.ref.saturated)
      details.push(
        `${np.address} (${np.fullName}): count ${np.kobj.ref.count}${np.kobj.ref.saturated ? ' saturated' : ''}, ledger gives ${replay.count}${replay.saturated ? ' saturated' : ''}`,
      );
  }
  return result('refcounts-match-ledger', 'K-REF-1, K-REF-4', details);
}

/**
 * An attached node out of the root's reach that the kernel leaves so: its nearest ancestor that is
 * not attached was unlinked alone by an of_changeset DETACH_NODE entry, whose __of_detach_node unlinks
 * that one node and flags only it (4.16.13 drivers/of/dynamic.c:248-271, the same in the 4.18.0,
 * 5.0.1, 5.8.1, 6.1.20 (:256-282), 6.6.9 and 6.12.0 (:255-285) trees), so a node /proc/ppc64/ofdt
 * added below it stays attached, linked under it. Two changesets do that here:
 * - an overlay's revert: the ancestor is a node the overlay made (OF_OVERLAY), and
 *   of_overlay_remove's topmost check looks only at later overlays (4.16.13 overlay.c:799-850;
 *   docs/kernel-notes.md, note 43);
 * - the 6.1+ CPU removal, pseries_cpuhp_detach_nodes: one DETACH_NODE entry for the cpu node and one
 *   for each cache only it uses, never their children (6.1.20 hotplug-cpu.c:643-671, 6.12.0
 *   :652-680), where earlier releases' dlpar_detach_node detaches the children first (5.15.16
 *   dlpar.c:258-276).
 * Any other detached ancestor is a model bug.
 */
function strandedByChangeset(lpar: Lpar, np: DeviceNode): boolean {
  let p = np.parent;
  // Bounded: a parent cycle is a broken model, reported by the walk, not a reason to hang here.
  for (let steps = lpar.of.nodes.size; p && nodeState(p) === 'attached' && steps > 0; steps--) p = p.parent;
  // Detached, or freed since: after an unbalanced put on the overlay's node the changeset's put is
  // the last, and of_node_release frees it under the child that still points at it (a kernel UAF).
  if (!p?.everAttached || !(p.flags & OF_DETACHED)) return false;
  if (p.flags & OF_OVERLAY) return true;
  return lpar.k.profile.dlpar.cpuCacheNodes && (ofNodeIsType(p, 'cpu') || ofNodeIsType(p, 'cache'));
}

/**
 * An attached node is reachable from the root by exactly one path; no other node is reachable. The
 * one exception is the kernel's own: nodes stranded by a changeset's detach (strandedByChangeset).
 */
function attachedReachableOnce(lpar: Lpar): InvariantResult {
  const details: string[] = [];
  const seen = new Set<DeviceNode>();
  const root = lpar.of.root;
  if (root) {
    const stack: DeviceNode[] = [root];
    while (stack.length) {
      const np = stack.pop()!;
      if (seen.has(np)) {
        details.push(`${np.address} (${np.fullName}) is reachable by more than one path`);
        continue;
      }
      seen.add(np);
      if (np !== root && (np.flags & OF_DETACHED || np.freed))
        details.push(`${np.address} (${np.fullName}) is reachable but ${nodeState(np)}`);
      for (let c = np.child; c; c = c.sibling) {
        if (c.parent !== np)
          details.push(`${c.address} (${c.fullName}) is linked under a node that is not its parent`);
        stack.push(c);
      }
    }
  }
  for (const np of lpar.of.nodes.values()) {
    if (nodeState(np) === 'attached' && !seen.has(np) && !strandedByChangeset(lpar, np))
      details.push(`${np.address} (${np.fullName}) is attached but not reachable from the root`);
  }
  return result('attached-reachable-once', 'K-NODE-4', details);
}

/** No two entries of a sysfs directory share a name; a node has a directory exactly when it is in sysfs. */
function sysfsConsistent(lpar: Lpar): InvariantResult {
  const details: string[] = [];
  const walk = (dir: KernfsDir) => {
    for (const [key, entry] of dir.entries) {
      if (entry.name !== key)
        details.push(`entry ${JSON.stringify(entry.name)} is filed under ${JSON.stringify(key)}`);
      if (entry.parent !== dir)
        details.push(`entry ${JSON.stringify(entry.name)} does not point back at its directory`);
      if (entry.kind === 'dir') walk(entry);
    }
  };
  walk(lpar.of.sysfs);
  for (const np of lpar.of.nodes.values()) {
    const linked = np.kobj.dir !== null && np.kobj.dir.parent !== null;
    if (np.kobj.inSysfs !== linked)
      details.push(`${np.address} (${np.fullName}): in sysfs ${np.kobj.inSysfs}, directory linked ${linked}`);
  }
  return result('sysfs-consistent', 'K-SYSFS-2', details);
}

/** Every cache slot is empty or names a node the simulator knows. */
function cacheSlotsKnown(lpar: Lpar): InvariantResult {
  const details: string[] = [];
  lpar.of.cache.slots.forEach((np, slot) => {
    if (np && lpar.of.nodes.get(np.address) !== np)
      details.push(`slot ${slot} names an unknown node ${np.address}`);
  });
  return result('cache-slots-known', 'K-CACHE', details);
}

export function checkInvariants(lpar: Lpar): { ok: boolean; items: InvariantResult[] } {
  const items = [
    refcountsMatchLedger(lpar),
    attachedReachableOnce(lpar),
    sysfsConsistent(lpar),
    cacheSlotsKnown(lpar),
  ];
  return { ok: items.every((i) => i.ok), items };
}
