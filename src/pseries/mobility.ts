// What Linux does after the partition resumes on the destination (arch/powerpc/platforms/pseries/
// mobility.c, K-MOB): post_mobility_fixup runs pseries_devicetree_update, which reads firmware's work
// list word by word and deletes, updates and adds nodes. The profile decides how each phandle is
// looked up (per-op or central) and whether platform-facilities changes are ignored (K-MOB-7).

import { ofFindProperty, ofGetParent, ofNodeIsType } from '../of/base.ts';
import { ofRemoveProperty, ofUpdateProperty } from '../of/dynamic.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofFindNodeByPhandle } from '../of/phandle-cache.ts';
import { ofNodeFullName, ofNodeFullNamePhandle, ofNodePathPeek } from '../of/printk-of.ts';
import { enc } from '../of/property.ts';
import { ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';
import { type CacheInfo, cacheinfoRebuild, cacheinfoTeardown } from './cacheinfo.ts';
import { dlparAttachNode, dlparConfigureConnector, dlparDetachNode, dlparFreeCcNodes } from './dlpar.ts';
import {
  ACTION_ADD,
  ACTION_DELETE,
  ACTION_UPDATE,
  NODE_ACTION_MASK,
  NODE_COUNT_MASK,
  PROP_REMOVE,
  RTAS_BUSY,
  RTAS_CALL_AGAIN,
  RTAS_DATA_BUF_SIZE,
  UPDATE_NODES_HEADER_WORDS,
  UPDATE_PROPS_HEADER_BYTES,
} from './firmware.ts';
import type { Rtas } from './rtas.ts';
import { WorkAreaCursor } from './work-area.ts';

export type OperationOutcome = 'done' | 'not-found' | 'ignored' | 'failed';

/** What happened to one entry of the work list (the simulator's record for the report). */
export interface MobilityOperation {
  readonly action: 'delete' | 'update' | 'add' | 'unknown';
  readonly phandle: number;
  readonly drc?: number;
  /** The node the lookup resolved to, as it was when found. */
  readonly node: { readonly address: string; readonly path: string } | null;
  readonly outcome: OperationOutcome;
  /** For add: the new top node. */
  readonly added?: string;
  /**
   * A PRRN update only (scope -2, the loop's prrn_update_node): `found` when the phandle names a node,
   * `lmb-readd` when it does not and the kernel would take it for an LMB's DRC index (not modelled).
   */
  readonly prrn?: 'found' | 'lmb-readd';
}

/** The scope post_mobility_fixup passes to ibm,update-nodes. */
export const MIGRATION_SCOPE = 1;
/** The scope of a PRRN (the negated scope of the RTAS event), for which the old loop had its special case. */
export const PRRN_SCOPE = -2;

const PF_TYPE = 'ibm,platform-facilities';
const be32 = (buf: Uint8Array, off: number) =>
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(off);

/** of_node_is_type(np, "ibm,platform-facilities"), reading the node (a freed one is a use-after-free). */
function isPlatformFacilities(of: OfState, np: DeviceNode | null): boolean {
  if (!np) return false;
  of.k.access(np, 'of_node_is_type', 8);
  return ofNodeIsType(np, PF_TYPE);
}

/** The report's record of a node: read without touching it (the simulator looks, it does not print). */
function nodeRef(np: DeviceNode | null) {
  return np ? { address: np.address, path: ofNodePathPeek(np) } : null;
}

/** Messages of mobility.c: from 5.11 the file has pr_fmt "mobility: " (E9). */
function mobilityText(of: OfState, text: string): string {
  return of.k.profile.mobilityPrFmt ? `mobility: ${text}` : text;
}

// ---- the three operations ----
// Each takes the node the update loop resolved. Where it came from (its own lookup, per-op, or the
// loop's, central) is decided in one place, handleEntry; every switch applies whatever the other is.

/** K-MOB-7: does a delete touch the platform-facilities subtree? */
function deleteIsPlatformFacilities(of: OfState, dn: DeviceNode): boolean {
  const parent = ofGetParent(of, dn, 'delete_dt_node');
  const result = isPlatformFacilities(of, dn) || isPlatformFacilities(of, parent);
  ofNodePut(of, parent, 'delete_dt_node');
  return result;
}

function deleteDtNode(of: OfState, dn: DeviceNode): OperationOutcome {
  if (of.k.profile.skipPlatformFacilities && deleteIsPlatformFacilities(of, dn)) {
    of.k.printk('notice', mobilityText(of, `ignoring remove operation for ${ofNodeFullNamePhandle(of, dn)}`));
    return 'ignored';
  }
  if (of.k.profile.mobilityLookup === 'central')
    of.k.prDebug(() => mobilityText(of, `removing node ${ofNodeFullNamePhandle(of, dn)}`));
  dlparDetachNode(of, dn);
  return 'done';
}

/** Applies one complete value (update_dt_property's end): the update rule, K-PROP-1. */
function updateDtProperty(of: OfState, dn: DeviceNode, name: string, value: Uint8Array): void {
  of.k.fn('update_dt_property', () => {
    if (of.k.profile.mobilityPrFmt)
      of.k.prDebug(() => mobilityText(of, `updating node ${ofNodeFullName(of, dn)} property ${name}`));
    ofUpdateProperty(of, dn, { name, value });
  });
}

/** update_dt_node: ibm,update-properties until done; each value applied with the update rule (K-PROP-1). */
function updateDtNode(of: OfState, rtas: Rtas, dn: DeviceNode): OperationOutcome {
  const buf = new Uint8Array(RTAS_DATA_BUF_SIZE);
  new DataView(buf.buffer).setUint32(0, dn.phandle >>> 0);
  let partial: { name: string; chunks: Uint8Array[] } | null = null;
  let rc: number;
  do {
    rc = rtas.updateProperties(buf, ofNodePathPeek(dn));
    if (rc < 0) break;
    const cursor = new WorkAreaCursor(buf, UPDATE_PROPS_HEADER_BYTES);
    let nprops = be32(buf, 16);
    if (cursor.peekByte() === 0) {
      // The first descriptor of a node: empty name, then the node path as the value.
      cursor.skip(1);
      cursor.skip(cursor.u32());
      nprops -= 1;
    }
    for (let i = 0; i < nprops && !cursor.atEnd(); i++) {
      const name = cursor.cString();
      let vd = cursor.u32();
      if (vd === 0) continue; // name only: nothing to do
      if (vd === PROP_REMOVE) {
        if (ofFindProperty(dn, name)) ofRemoveProperty(of, dn, name);
        partial = null;
        continue;
      }
      let more = false;
      if (vd & 0x80000000) {
        vd = (~vd + 1) >>> 0; // a negative length: part of the value, the rest on the next call
        more = true;
      }
      partial ??= { name, chunks: [] };
      partial.chunks.push(cursor.bytes(vd));
      if (!more) {
        updateDtProperty(of, dn, partial.name, enc.concat(...partial.chunks));
        partial = null;
      }
    }
  } while (rc === RTAS_CALL_AGAIN);
  return rc < 0 ? 'failed' : 'done';
}

function addDtNode(
  of: OfState,
  rtas: Rtas,
  parent: DeviceNode,
  drc: number,
): { outcome: OperationOutcome; added?: string } {
  const dn = dlparConfigureConnector(of, rtas, drc, parent);
  if (!dn) return { outcome: 'failed' };
  if (of.k.profile.skipPlatformFacilities && isPlatformFacilities(of, dn)) {
    of.k.printk('notice', mobilityText(of, `ignoring add operation for ${ofNodeFullName(of, dn)}`));
    dlparFreeCcNodes(of, dn);
    return { outcome: 'ignored', added: dn.address };
  }
  const rc = dlparAttachNode(of, dn, parent);
  if (rc) {
    dlparFreeCcNodes(of, dn);
    return { outcome: 'failed' };
  }
  if (of.k.profile.mobilityLookup === 'central')
    of.k.prDebug(() => mobilityText(of, `added node ${ofNodeFullNamePhandle(of, dn)}`));
  return { outcome: 'done', added: dn.address };
}

const ACTIONS: Record<number, { name: MobilityOperation['action']; fn: string }> = {
  [ACTION_DELETE]: { name: 'delete', fn: 'delete_dt_node' },
  [ACTION_UPDATE]: { name: 'update', fn: 'update_dt_node' },
  [ACTION_ADD]: { name: 'add', fn: 'add_dt_node' },
};

/**
 * One phandle of the work list (K-MOB-2). `central`: the loop looks the node up first, warns and goes
 * on when nothing is found, without consuming an add's DRC word. `per-op`: the DRC word is consumed
 * first, and each operation looks its node up itself, returning -ENOENT silently when nothing is found.
 * Either way the node is put by whoever got it, after the operation.
 */
function handleEntry(
  of: OfState,
  rtas: Rtas,
  action: number,
  phandle: number,
  takeDrc: () => number,
  scope: number,
): MobilityOperation {
  const k = of.k;
  const known = ACTIONS[action];
  const name = known?.name ?? 'unknown';
  const central = k.profile.mobilityLookup === 'central';
  let np: DeviceNode | null = null;
  if (central) {
    np = ofFindNodeByPhandle(of, phandle, 'pseries_devicetree_update').node;
    if (!np) {
      k.printk(
        'warn',
        mobilityText(
          of,
          `Failed lookup: phandle 0x${phandle.toString(16)} for action 0x${action.toString(16)}`,
        ),
      );
      return { action: name, phandle, node: null, outcome: 'not-found' };
    }
  }
  const drc = action === ACTION_ADD ? takeDrc() : undefined;
  const withDrc = drc === undefined ? {} : { drc };
  let op: MobilityOperation;
  if (!known) op = { action: name, phandle, node: nodeRef(np), outcome: 'failed' };
  else
    op = k.fn(known.fn, (): MobilityOperation => {
      const dn = central ? np : ofFindNodeByPhandle(of, phandle, known.fn).node;
      if (!dn) return { action: name, phandle, ...withDrc, node: null, outcome: 'not-found' };
      const node = nodeRef(dn);
      let result: { outcome: OperationOutcome; added?: string };
      if (action === ACTION_DELETE) result = { outcome: deleteDtNode(of, dn) };
      else if (action === ACTION_UPDATE) result = { outcome: updateDtNode(of, rtas, dn) };
      else result = addDtNode(of, rtas, dn, drc!);
      if (!central) ofNodePut(of, dn, known.fn);
      return { action: name, phandle, ...withDrc, node, ...result };
    });
  if (central) ofNodePut(of, np, 'pseries_devicetree_update');
  if (action === ACTION_UPDATE && scope === PRRN_SCOPE) return { ...op, prrn: prrnUpdateNode(of, phandle) };
  return op;
}

/**
 * prrn_update_node (mobility.c up to 5.9): after a PRRN update, the phandle is looked up once more. A
 * node found is put again and that is all; a phandle naming no node is taken for an LMB's DRC index,
 * and the kernel re-adds that LMB through DLPAR (handle_dlpar_errorlog, READD by index). The memory
 * DLPAR path is not modelled (docs/kernel-notes.md): the entry says so and nothing is printed.
 */
function prrnUpdateNode(of: OfState, phandle: number): 'found' | 'lmb-readd' {
  return of.k.fn('prrn_update_node', () => {
    const dn = ofFindNodeByPhandle(of, phandle, 'prrn_update_node').node;
    if (!dn) return 'lmb-readd';
    ofNodePut(of, dn, 'prrn_update_node');
    return 'found';
  });
}

function reportOutOfBounds(of: OfState, size: number): void {
  const { comm, pid } = of.k.tasks.current;
  of.k.emit({ type: 'out-of-bounds', function: 'pseries_devicetree_update', size });
  of.k.kasanReport('slab-out-of-bounds', 'pseries_devicetree_update', [
    `Read of size 4 at the end of a ${size}-byte work area by task ${comm}/${pid}`,
  ]);
}

/**
 * K-MOB-2: the update loop. Returns 0 or the failing RTAS status. `scope` is what the kernel passes to
 * ibm,update-nodes: 1 after a migration, the negated event scope for a PRRN (prrn.ts).
 */
export function pseriesDevicetreeUpdate(
  of: OfState,
  rtas: Rtas,
  ops: MobilityOperation[],
  scope: number = MIGRATION_SCOPE,
): number {
  return of.k.fn('pseries_devicetree_update', () => {
    const buf = new Uint8Array(RTAS_DATA_BUF_SIZE);
    let rc: number;
    do {
      rc = rtas.updateNodes(buf);
      if (rc && rc !== RTAS_CALL_AGAIN) break;
      // A list that runs off the work area makes the kernel read past its buffer; the simulator reports
      // that read as KASAN would and stops there instead of following garbage.
      const cursor = new WorkAreaCursor(buf, UPDATE_NODES_HEADER_WORDS * 4);
      while (!cursor.overran) {
        const head = cursor.u32();
        if ((head & NODE_ACTION_MASK) === 0) break;
        const action = (head & NODE_ACTION_MASK) >>> 0;
        const count = head & NODE_COUNT_MASK;
        for (let i = 0; i < count && !cursor.overran; i++) {
          const phandle = cursor.u32();
          if (cursor.overran) break;
          ops.push(handleEntry(of, rtas, action, phandle, () => cursor.u32(), scope));
        }
      }
      if (cursor.overran) reportOutOfBounds(of, buf.length);
    } while (rc === RTAS_CALL_AGAIN);
    return rc;
  });
}

/** RTAS busy statuses that rtas_busy_delay retries: -2 and the extended-delay range 9900..9905. */
function rtasBusy(rc: number): boolean {
  return rc === RTAS_BUSY || (rc >= 9900 && rc <= 9905);
}

/** How often the simulated kernel retries a busy ibm,activate-firmware before giving up. */
const ACTIVATE_RETRIES = 100;

/**
 * K-MOB-1: after the partition resumes on the destination. With `cacheinfoRebuild` (E10) the cache
 * objects drop their node references before the update and take them again after it, on whatever
 * nodes are attached then. The failure text is the release's own (E9).
 */
export function postMobilityFixup(
  of: OfState,
  rtas: Rtas,
  cacheinfo: CacheInfo,
): { rc: number; operations: MobilityOperation[] } {
  return of.k.fn('post_mobility_fixup', () => {
    let activate = rtas.activateFirmware();
    for (let i = 0; i < ACTIVATE_RETRIES && rtasBusy(activate); i++) activate = rtas.activateFirmware();
    // 5.11+ moved the call into rtas_activate_firmware (rtas.c, no pr_fmt), with its own text.
    if (activate)
      of.k.printk(
        'err',
        of.k.profile.mobilityPrFmt
          ? `ibm,activate-firmware failed (${activate})`
          : `Post-mobility activate-fw failed: ${activate}`,
      );
    const rebuild = of.k.profile.cacheinfoRebuild;
    if (rebuild) cacheinfoTeardown(of, cacheinfo);
    const operations: MobilityOperation[] = [];
    const rc = pseriesDevicetreeUpdate(of, rtas, operations);
    if (rc)
      of.k.printk(
        'err',
        of.k.profile.mobilityPrFmt
          ? `mobility: device tree update failed: ${rc}`
          : `Post-mobility device tree update failed: ${rc}`,
      );
    if (rebuild) cacheinfoRebuild(of, cacheinfo);
    return { rc, operations };
  });
}

/**
 * The partition's side of a migration from the moment it is told to suspend. From 5.11 the kernel
 * suspends itself (`suspendInKernel`, E8): the CPU that calls ibm,suspend-me logs it, and after the
 * resume it wakes the other threads; then post_mobility_fixup. Before, drmgr drove the suspend from
 * user space and the kernel logged nothing of it. `suspended` is where the partition is away.
 */
export function pseriesMigratePartition(
  of: OfState,
  rtas: Rtas,
  cacheinfo: CacheInfo,
  suspended: () => void,
): { rc: number; operations: MobilityOperation[] } {
  // 5.11+ migration_store calls pseries_migrate_partition; before, it called post_mobility_fixup itself.
  return of.k.fn(of.k.profile.suspendInKernel ? 'pseries_migrate_partition' : 'migration_store', () => {
    // The CPU that calls ibm,suspend-me is whichever joins last; the simulator's is always CPU 0.
    if (of.k.profile.suspendInKernel) {
      of.k.fn('pseries_suspend', () => {
        of.k.printk('info', 'mobility: calling ibm,suspend-me on CPU 0');
        suspended();
        of.k.printk('info', 'mobility: CPU 0 waking all threads');
      });
    } else {
      // migration_store → rtas_ibm_suspend_me: a KERN_DEBUG printk, so it reaches dmesg regardless.
      of.k.fn('rtas_ibm_suspend_me', () => of.k.printk('debug', 'calling ibm,suspend-me on cpu 0'));
      suspended();
    }
    const result = postMobilityFixup(of, rtas, cacheinfo);
    // 6.1+ wait_for_vasi_session_completed: the simulated hypervisor has finished the transfer by the
    // first poll, so both lines print and nothing waits.
    if (of.k.profile.waitMemoryTransfer)
      of.k.fn('wait_for_vasi_session_completed', () => {
        of.k.printk('info', 'mobility: waiting for memory transfer to complete...');
        of.k.printk('info', 'mobility: memory transfer completed.');
      });
    return result;
  });
}
