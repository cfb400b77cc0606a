// The `dt` resource of /sys/kernel/dlpar (6.12's dlpar.c dlpar_hp_dt, K-DLPAR-4): drmgr's I/O DLPAR
// asks the kernel to build or prune the device-tree nodes of one connector, `dt add index <drc>` and
// `dt remove index <drc>`. An add finds the parent as the node whose `ibm,drc-info` covers the index,
// builds the subtree with configure-connector and attaches it by changeset; a remove detaches, by
// changeset, every node whose `ibm,my-drc-index` is the index, children first. Neither touches a
// connector's state nor a bus: the vio device of a removed adapter keeps its node (K-DRV-4), and an
// added node gets none (drmgr's slot write to rpadlpar does that, not modelled: docs/kernel-notes.md).
// Messages carry dlpar.c's prefix ("dlpar: ").

import { ERRNO } from '../kernel/errno.ts';
import { ofFindAllNodesNext, ofFindProperty, ofGetNextChild } from '../of/base.ts';
import { ofChangesetAction, ofChangesetApply, ofChangesetDestroy, ofChangesetInit } from '../of/changeset.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofNodeFullName } from '../of/printk-of.ts';
import { ofNodeGet, ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';
import { dlparConfigureConnector, dlparFreeCcNodes } from './dlpar.ts';
import { drcInfoCells } from './drc-info.ts';
import type { HpAction, HpIdType } from './hotplug-cpu.ts';
import type { Rtas } from './rtas.ts';

const PR = 'dlpar: ';
const EOVERFLOW = -75;

/** What a dt request works with. */
export interface DtHotplugContext {
  readonly of: OfState;
  readonly rtas: Rtas;
}

/** for_each_node_with_property, in allnodes order (the walk's transient references left out). */
function* nodesWithProperty(of: OfState, name: string): Generator<DeviceNode, void, undefined> {
  for (let np = ofFindAllNodesNext(of, null); np; np = ofFindAllNodesNext(of, np))
    if (ofFindProperty(np, name)) yield np;
}

/**
 * of_property_read_u32 of `ibm,my-drc-index`: the value, or -EOVERFLOW for a value shorter than a
 * cell, printed as the caller prints it.
 */
function readMyDrcIndex(of: OfState, np: DeviceNode, func: string): number {
  const p = ofFindProperty(np, 'ibm,my-drc-index')!;
  if (p.value.length >= 4)
    return new DataView(p.value.buffer, p.value.byteOffset, p.value.byteLength).getUint32(0);
  of.k.printk(
    'err',
    `${PR}${func}: ${ofNodeFullName(of, np)}: of_property_read_u32 ibm,my-drc-index: ${EOVERFLOW}`,
  );
  return EOVERFLOW;
}

/** get_device_node_with_drc_index: the attached node with that `ibm,my-drc-index`, with a reference. */
function nodeWithDrcIndex(of: OfState, index: number, holder: string): DeviceNode | null {
  for (const np of nodesWithProperty(of, 'ibm,my-drc-index')) {
    const v = readMyDrcIndex(of, np, 'get_device_node_with_drc_index');
    if (v === EOVERFLOW) return null;
    if (v === index) return ofNodeGet(of, np, holder);
  }
  return null;
}

/** get_device_node_with_drc_info: the first node whose `ibm,drc-info` lists `index`, with a reference. */
function nodeWithDrcInfo(of: OfState, index: number, holder: string): DeviceNode | null {
  for (const np of nodesWithProperty(of, 'ibm,drc-info')) {
    for (const c of drcInfoCells(ofFindProperty(np, 'ibm,drc-info')!.value)) {
      if (index > c.last) continue;
      let node = c.indexStart;
      for (let j = 0; j < c.count; j++) {
        if (index === node) return ofNodeGet(of, np, holder);
        node = (node + c.increment) >>> 0;
      }
    }
  }
  return null;
}

/** dlpar_changeset_attach_cc_nodes: the node, then its first child's chain, then its siblings'. */
function attachCcNodes(of: OfState, cs: ReturnType<typeof ofChangesetInit>, dn: DeviceNode): number {
  // The kernel recurses into child then sibling; this is the same pre-order with a stack.
  const stack: DeviceNode[] = [dn];
  while (stack.length) {
    const np = stack.pop()!;
    const rc = ofChangesetAction(of, cs, 'ATTACH_NODE', np, null);
    if (rc) return rc;
    if (np.sibling) stack.push(np.sibling);
    if (np.child) stack.push(np.child);
  }
  return 0;
}

/** dlpar_hp_dt_add */
function dlparHpDtAdd(c: DtHotplugContext, index: number): number {
  const { of } = c;
  return of.k.fn('dlpar_hp_dt_add', () => {
    const holder = 'dlpar_hp_dt_add';
    let np = nodeWithDrcIndex(of, index, holder);
    if (np) {
      // %d of a u32: an index at or above 0x80000000 prints negative.
      of.k.printk(
        'err',
        `${PR}dlpar_hp_dt_add: Adding device node for index (${index | 0}), but already exists in the device tree`,
      );
      ofNodePut(of, np, holder);
      return -ERRNO.EINVAL;
    }
    np = nodeWithDrcInfo(of, index, holder);
    if (!np) return -ERRNO.EIO;
    let rc: number;
    const nodes = dlparConfigureConnector(of, c.rtas, index, np);
    if (!nodes) rc = -ERRNO.EIO;
    else {
      const cs = ofChangesetInit();
      rc = attachCcNodes(of, cs, nodes);
      if (!rc) rc = ofChangesetApply(of, cs);
      else dlparFreeCcNodes(of, nodes);
      ofChangesetDestroy(of, cs, () => false);
    }
    ofNodePut(of, np, holder);
    return rc;
  });
}

/** changeset_detach_node_recursive: children first (of_get_next_child), then the node. */
function detachRecursive(of: OfState, cs: ReturnType<typeof ofChangesetInit>, node: DeviceNode): number {
  const holder = 'changeset_detach_node_recursive';
  for (
    let child = ofGetNextChild(of, node, null, holder);
    child;
    child = ofGetNextChild(of, node, child, holder)
  ) {
    const rc = detachRecursive(of, cs, child);
    if (rc) {
      ofNodePut(of, child, holder);
      return rc;
    }
  }
  return ofChangesetAction(of, cs, 'DETACH_NODE', node, null);
}

/** dlpar_hp_dt_remove: every node with the index; none found is an empty changeset, and success. */
function dlparHpDtRemove(c: DtHotplugContext, index: number): number {
  const { of } = c;
  return of.k.fn('dlpar_hp_dt_remove', () => {
    const cs = ofChangesetInit();
    let rc = 0;
    // The walk sees the tree as it is: the changeset changes nothing until it is applied.
    const matched: DeviceNode[] = [];
    for (const np of nodesWithProperty(of, 'ibm,my-drc-index')) {
      const v = readMyDrcIndex(of, np, 'dlpar_hp_dt_remove');
      if (v === EOVERFLOW) {
        rc = v;
        break;
      }
      if (v === index) matched.push(np);
    }
    if (!rc)
      for (const np of matched) {
        rc = detachRecursive(of, cs, np);
        if (rc) break;
      }
    if (!rc) rc = ofChangesetApply(of, cs);
    ofChangesetDestroy(of, cs, () => false);
    return rc;
  });
}

/** dlpar_hp_dt: by index only; any other id type is -EINVAL without a message. */
export function dlparHpDt(c: DtHotplugContext, action: HpAction, idType: HpIdType, index: number): number {
  return c.of.k.fn('dlpar_hp_dt', () => {
    if (idType !== 'index') return -ERRNO.EINVAL;
    return action === 'add' ? dlparHpDtAdd(c, index) : dlparHpDtRemove(c, index);
  });
}
