// What Linux does after the partition resumes on the destination (arch/powerpc/platforms/pseries/
// mobility.c, K-MOB): post_mobility_fixup runs pseries_devicetree_update, which reads firmware's work
// list word by word and deletes, updates and adds nodes. The profile decides how each phandle is
// looked up (per-op or central) and whether platform-facilities changes are ignored (K-MOB-7).

import { ofFindProperty, ofGetParent } from '../of/base.ts';
import { ofRemoveProperty, ofUpdateProperty } from '../of/dynamic.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofFindNodeByPhandle } from '../of/phandle-cache.ts';
import { ofNodeFullName, ofNodeFullNamePhandle } from '../of/printk-of.ts';
import { cString } from '../of/property.ts';
import { ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';
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
}

const PF_TYPE = 'ibm,platform-facilities';
const be32 = (buf: Uint8Array, off: number) =>
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(off);

/** of_node_is_type: reads the `device_type` property (a node not yet attached has no cached type). */
function isPlatformFacilities(of: OfState, np: DeviceNode | null): boolean {
  if (!np) return false;
  of.k.access(np, 'of_node_is_type', 8);
  const pp = ofFindProperty(np, 'device_type');
  return pp !== undefined && cString(pp.value) === PF_TYPE;
}

function nodeRef(of: OfState, np: DeviceNode | null) {
  return np ? { address: np.address, path: ofNodeFullName(of, np) } : null;
}

// ---- the three operations, in both lookup styles ----

/** K-MOB-7: does a delete touch the platform-facilities subtree? */
function deleteIsPlatformFacilities(of: OfState, dn: DeviceNode): boolean {
  const parent = ofGetParent(of, dn, 'delete_dt_node');
  const result = isPlatformFacilities(of, dn) || isPlatformFacilities(of, parent);
  ofNodePut(of, parent, 'delete_dt_node');
  return result;
}

function deleteDtNode(of: OfState, dn: DeviceNode): OperationOutcome {
  return of.k.fn('delete_dt_node', () => {
    if (of.k.profile.skipPlatformFacilities && deleteIsPlatformFacilities(of, dn)) {
      of.k.printk('notice', `mobility: ignoring remove operation for ${ofNodeFullNamePhandle(of, dn)}`);
      return 'ignored';
    }
    if (of.k.profile.mobilityLookup === 'central')
      of.k.prDebug(`mobility: removing node ${ofNodeFullNamePhandle(of, dn)}`);
    dlparDetachNode(of, dn);
    return 'done';
  });
}

/** update_dt_node: ibm,update-properties until done; each value applied with the update rule (K-PROP-1). */
function updateDtNode(of: OfState, rtas: Rtas, dn: DeviceNode): OperationOutcome {
  return of.k.fn('update_dt_node', () => {
    const buf = new Uint8Array(RTAS_DATA_BUF_SIZE);
    new DataView(buf.buffer).setUint32(0, dn.phandle >>> 0);
    let partial: { name: string; chunks: Uint8Array[] } | null = null;
    let rc: number;
    do {
      rc = rtas.updateProperties(buf, ofNodeFullName(of, dn));
      if (rc < 0) break;
      let off = UPDATE_PROPS_HEADER_BYTES;
      let nprops = be32(buf, 16);
      if (buf[off] === 0) {
        // The first descriptor of a node: empty name, then the node path as the value.
        off += 1;
        const vd = be32(buf, off);
        off += 4 + vd;
        nprops -= 1;
      }
      for (let i = 0; i < nprops && off < buf.length; i++) {
        const nul = buf.indexOf(0, off);
        const name = new TextDecoder().decode(buf.subarray(off, nul));
        off = nul + 1;
        let vd = be32(buf, off);
        off += 4;
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
        const chunk = buf.slice(off, off + vd);
        off += vd;
        partial ??= { name, chunks: [] };
        partial.chunks.push(chunk);
        if (!more) {
          const total = partial.chunks.reduce((n, c) => n + c.length, 0);
          const value = new Uint8Array(total);
          let at = 0;
          for (const c of partial.chunks) {
            value.set(c, at);
            at += c.length;
          }
          ofUpdateProperty(of, dn, { name: partial.name, value });
          partial = null;
        }
      }
    } while (rc === RTAS_CALL_AGAIN);
    return rc < 0 ? 'failed' : 'done';
  });
}

function addDtNode(
  of: OfState,
  rtas: Rtas,
  parent: DeviceNode,
  drc: number,
): { outcome: OperationOutcome; added?: string } {
  return of.k.fn('add_dt_node', () => {
    const dn = dlparConfigureConnector(of, rtas, drc, parent);
    if (!dn) return { outcome: 'failed' };
    if (of.k.profile.skipPlatformFacilities && isPlatformFacilities(of, dn)) {
      of.k.printk('notice', `mobility: ignoring add operation for ${ofNodeFullName(of, dn)}`);
      dlparFreeCcNodes(of, dn);
      return { outcome: 'ignored', added: dn.address };
    }
    const rc = dlparAttachNode(of, dn, parent);
    if (rc) {
      dlparFreeCcNodes(of, dn);
      return { outcome: 'failed' };
    }
    if (of.k.profile.mobilityLookup === 'central')
      of.k.prDebug(`mobility: added node ${ofNodeFullNamePhandle(of, dn)}`);
    return { outcome: 'done', added: dn.address };
  });
}

const ACTION_NAMES: Record<number, MobilityOperation['action']> = {
  [ACTION_DELETE]: 'delete',
  [ACTION_UPDATE]: 'update',
  [ACTION_ADD]: 'add',
};

/** One phandle of the work list: look it up the profile's way, run the action, put what was got. */
function handleEntry(
  of: OfState,
  rtas: Rtas,
  action: number,
  phandle: number,
  takeDrc: () => number,
): MobilityOperation {
  const name = ACTION_NAMES[action] ?? 'unknown';
  const k = of.k;
  if (k.profile.mobilityLookup === 'central') {
    const np = ofFindNodeByPhandle(of, phandle, 'pseries_devicetree_update').node;
    if (!np) {
      // The DRC index word of an add is not consumed: the rest of the list is misread (K-MOB-2).
      k.printk(
        'warn',
        `mobility: Failed lookup: phandle 0x${phandle.toString(16)} for action 0x${action.toString(16)}`,
      );
      return { action: name, phandle, node: null, outcome: 'not-found' };
    }
    const node = nodeRef(of, np);
    let op: MobilityOperation;
    if (action === ACTION_DELETE) op = { action: name, phandle, node, outcome: deleteDtNode(of, np) };
    else if (action === ACTION_UPDATE)
      op = { action: name, phandle, node, outcome: updateDtNode(of, rtas, np) };
    else if (action === ACTION_ADD) {
      const drc = takeDrc();
      const r = addDtNode(of, rtas, np, drc);
      op = { action: name, phandle, drc, node, outcome: r.outcome, ...(r.added ? { added: r.added } : {}) };
    } else op = { action: name, phandle, node, outcome: 'failed' };
    ofNodePut(of, np, 'pseries_devicetree_update');
    return op;
  }
  // per-op: each operation looks its node up itself and returns -ENOENT silently when nothing is found.
  if (action === ACTION_DELETE) {
    return k.fn('delete_dt_node', () => {
      const dn = ofFindNodeByPhandle(of, phandle, 'delete_dt_node').node;
      if (!dn) return { action: name, phandle, node: null, outcome: 'not-found' as const };
      const node = nodeRef(of, dn);
      dlparDetachNode(of, dn);
      ofNodePut(of, dn, 'delete_dt_node');
      return { action: name, phandle, node, outcome: 'done' as const };
    });
  }
  if (action === ACTION_UPDATE) {
    return k.fn('update_dt_node', () => {
      const dn = ofFindNodeByPhandle(of, phandle, 'update_dt_node').node;
      if (!dn) return { action: name, phandle, node: null, outcome: 'not-found' as const };
      const node = nodeRef(of, dn);
      const outcome = updateDtNode(of, rtas, dn);
      ofNodePut(of, dn, 'update_dt_node');
      return { action: name, phandle, node, outcome };
    });
  }
  if (action === ACTION_ADD) {
    const drc = takeDrc();
    return k.fn('add_dt_node', () => {
      const parent = ofFindNodeByPhandle(of, phandle, 'add_dt_node').node;
      if (!parent) return { action: name, phandle, drc, node: null, outcome: 'not-found' as const };
      const node = nodeRef(of, parent);
      const r = addDtNode(of, rtas, parent, drc);
      ofNodePut(of, parent, 'add_dt_node');
      return { action: name, phandle, drc, node, outcome: r.outcome, ...(r.added ? { added: r.added } : {}) };
    });
  }
  return { action: name, phandle, node: null, outcome: 'failed' };
}

function reportOutOfBounds(of: OfState, size: number): void {
  const { comm, pid } = of.k.tasks.current;
  of.k.emit({ type: 'out-of-bounds', function: 'pseries_devicetree_update', size });
  of.k.kasanReport('slab-out-of-bounds', 'pseries_devicetree_update', [
    `Read of size 4 at the end of a ${size}-byte work area by task ${comm}/${pid}`,
  ]);
}

/** K-MOB-2: the update loop. Returns 0 or the failing RTAS status. */
export function pseriesDevicetreeUpdate(of: OfState, rtas: Rtas, ops: MobilityOperation[]): number {
  return of.k.fn('pseries_devicetree_update', () => {
    const buf = new Uint8Array(RTAS_DATA_BUF_SIZE);
    let rc: number;
    do {
      rc = rtas.updateNodes(buf);
      if (rc && rc !== RTAS_CALL_AGAIN) break;
      let w = UPDATE_NODES_HEADER_WORDS;
      const words = buf.length / 4;
      // A list that runs off the work area makes the kernel read past its buffer; the simulator reports
      // that read as KASAN would and stops there instead of following garbage.
      let outOfBounds = false;
      const word = () => {
        if (w < words) return be32(buf, w++ * 4);
        outOfBounds = true;
        return 0;
      };
      while (!outOfBounds) {
        const head = word();
        if ((head & NODE_ACTION_MASK) === 0) break;
        const action = (head & NODE_ACTION_MASK) >>> 0;
        const count = head & NODE_COUNT_MASK;
        for (let i = 0; i < count && !outOfBounds; i++) {
          const phandle = word();
          if (outOfBounds) break;
          ops.push(handleEntry(of, rtas, action, phandle, word));
        }
      }
      if (outOfBounds) reportOutOfBounds(of, buf.length);
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

/** K-MOB-1: after the partition resumes on the destination. */
export function postMobilityFixup(of: OfState, rtas: Rtas): { rc: number; operations: MobilityOperation[] } {
  return of.k.fn('post_mobility_fixup', () => {
    let activate = rtas.activateFirmware();
    for (let i = 0; i < ACTIVATE_RETRIES && rtasBusy(activate); i++) activate = rtas.activateFirmware();
    if (activate) of.k.printk('err', `Post-mobility activate-fw failed: ${activate}`);
    const operations: MobilityOperation[] = [];
    const rc = pseriesDevicetreeUpdate(of, rtas, operations);
    if (rc) of.k.printk('err', `Post-mobility device tree update failed: ${rc}`);
    return { rc, operations };
  });
}
