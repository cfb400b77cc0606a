// of_node_get, of_node_put and of_node_release (drivers/of/dynamic.c), with the simulator's holder
// ledger (K-REF-1) and the profile's refcount behaviour (K-REF-4).

import { refcountDecAndTest, refcountInc, refcountMode, refcountStep } from '../kernel/refcount.ts';
import { HolderTable, NO_HOLDERS, RefLedger } from './holders.ts';
import { childHolder, kobjectDel } from './kobj.ts';
import { type DeviceNode, nodeState, OF_DETACHED, OF_DYNAMIC } from './node.ts';
import { ofNodeFullName } from './printk-of.ts';
import type { OfState } from './state.ts';

/** The holder of the reference kref_init gives every node (K-REF-1). */
export const INITIAL_HOLDER = 'of_node_init';

function ledgerRecord(of: OfState, np: DeviceNode, op: 1 | -1): void {
  const ledger = np.refLedger;
  if (ledger.length === RefLedger.KEPT) {
    // The oldest half goes into the base, through the rules the kernel path used.
    const mode = refcountMode(of.k);
    const half = RefLedger.KEPT / 2;
    for (let i = 0; i < half; i++) refcountStep(mode, ledger, ledger.at(i));
    ledger.drop(half);
  }
  ledger.push(op);
}

function ledgerGet(of: OfState, np: DeviceNode, holder: string, record: boolean): void {
  np.holders.set(holder, (np.holders.get(holder) ?? 0) + 1);
  if (record) ledgerRecord(of, np, 1);
}

function ledgerPut(of: OfState, np: DeviceNode, holder: string, record: boolean): void {
  const held = np.holders.get(holder) ?? 0;
  if (held > 1) np.holders.set(holder, held - 1);
  else if (held === 1) np.holders.delete(holder);
  else {
    // K-REF-1: an unbalanced put still changes the count as the rules say.
    if (np.unbalancedPuts === NO_HOLDERS) np.unbalancedPuts = new HolderTable();
    np.unbalancedPuts.set(holder, (np.unbalancedPuts.get(holder) ?? 0) + 1);
    of.k.counters.unbalancedPuts += 1;
    of.k.emit({ type: 'ref.unbalanced-put', address: np.address, holder });
  }
  if (record) ledgerRecord(of, np, -1);
}

// K-REF-3: every function that returns a node says whether the caller owns a reference; this one
// returns its argument with one taken for `holder`.
export function ofNodeGet(of: OfState, np: DeviceNode | null, holder: string): DeviceNode | null {
  if (!np) return null;
  const { k } = of;
  k.fn('of_node_get', () => {
    k.access(np, 'of_node_get', 4, true); // kobject_get writes the count
    // K-UAF-3: with slubDebug a freed node's count is poison; the access above changed it, silently.
    const poisoned = k.slubPoisoned(np);
    ledgerGet(of, np, holder, !poisoned);
    if (!poisoned) k.fn('kobject_get', () => refcountInc(k, np.kobj.ref));
    k.emit({ type: 'ref.get', address: np.address, holder, refcount: np.kobj.ref.count });
  });
  return np;
}

export function ofNodePut(of: OfState, np: DeviceNode | null, holder: string): void {
  if (!np) return;
  const { k } = of;
  k.fn('of_node_put', () => {
    k.access(np, 'of_node_put', 4, true);
    const poisoned = k.slubPoisoned(np); // K-UAF-3, as in ofNodeGet
    ledgerPut(of, np, holder, !poisoned);
    const release = !poisoned && k.fn('kobject_put', () => refcountDecAndTest(k, np.kobj.ref));
    k.emit({ type: 'ref.put', address: np.address, holder, refcount: np.kobj.ref.count });
    if (release) kobjectCleanup(of, np);
  });
}

/**
 * kobject_cleanup (E4): a kobject still in sysfs is removed from it first (its directory and property
 * files go, and the vio of_node link to it breaks), then the release function runs. kobject_del drops
 * the parent reference of E3 at once, except where the release comes first (parentPutAfterRelease).
 */
function kobjectCleanup(of: OfState, np: DeviceNode): void {
  of.k.fn('kobject_cleanup', () => {
    const name = np.kobj.sysfsName;
    const parent = np.kobj.inSysfs ? kobjectDel(of, np, of.k.profile.parentPutAfterRelease) : null;
    ofNodeRelease(of, np);
    if (parent && name !== null) ofNodePut(of, parent, childHolder(name));
  });
}

// K-REF-2
function ofNodeRelease(of: OfState, np: DeviceNode): void {
  const { k } = of;
  k.fn('of_node_release', () => {
    if ((np.flags & OF_DETACHED) === 0) {
      k.printk('err', `OF: ERROR: Bad of_node_put() on ${ofNodeFullName(of, np)}`);
      k.dumpStack('err');
      return;
    }
    if ((np.flags & OF_DYNAMIC) === 0) {
      k.emit({ type: 'node.released', address: np.address });
      return;
    }
    ofNodeFree(of, np);
  });
}

/** kfree of the node with its properties and dead properties (K-REF-2, K-PROP-3). */
export function ofNodeFree(of: OfState, np: DeviceNode): void {
  if (np.freed) return;
  np.freed = of.k.freeRecord(np);
  of.k.emit({ type: 'node.freed', address: np.address, state: nodeState(np) });
}
