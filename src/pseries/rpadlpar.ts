// rpadlpar_io (drivers/pci/hotplug/rpadlpar_core.c and rpadlpar_sysfs.c, K-SLOT): I/O slot DLPAR as
// drmgr drives it, the other half of what /sys/kernel/dlpar does not take. drmgr writes a connector's
// drc name to /sys/bus/pci/slots/control/add_slot after it has added the slot's nodes (ofdt, or 6.12's
// `dt add`), and to remove_slot before it removes them. The kernel finds the node by drc name (a PCI
// slot, a PHB, then a child of /vdevice) and, for a virtual slot, registers or unregisters its vio
// device: the only place in any release where vio_register_device_node and vio_unregister_device
// run after boot. The vio device is found by name, not by node, so after a migration remove_slot on
// the re-added node unregisters the device that still holds the old one (K-DRV-1).

import { ERRNO } from '../kernel/errno.ts';
import { ofFindAllNodesNext, ofFindNodeByName, ofGetNextChild, ofNodeNameMatcher } from '../of/base.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofNodeGet, ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';
import type { DrcLookup } from './rpaphp.ts';
import { type VioBus, vioFindNode, vioRegisterDeviceNode, vioUnregisterDevice } from './vio.ts';

/** rpaphp.h MAX_DRC_NAME_LEN: a write of this many bytes or more is answered 0 and does nothing. */
export const MAX_DRC_NAME_LEN = 64;

const MODULE = 'rpadlpar_io';
/** strcmp compares bytes: latin1 keeps each byte one character, as rpaphp reads the lists. */
const bytesDecoder = new TextDecoder('latin1');
/** The holder of the reference find_dlpar_node hands its caller (and of the walks that find it). */
const FIND_HOLDER = 'find_dlpar_node';
/** The holder of find_vio_slot_node's /vdevice lookup. */
const VDEVICE_HOLDER = 'find_vio_slot_node';

export type SlotFile = 'add_slot' | 'remove_slot';
export type SlotNodeType = 'slot' | 'phb' | 'vio';

/**
 * The nodes named `pci`, in all-nodes order: what for_each_node_by_name(np, "pci") visits. Read in
 * one walk per write and shared by the service's look before the write and by both of
 * find_dlpar_node's pci searches: nothing attaches or detaches between them (the write runs alone on
 * its LPAR and the searches only get and put), so each search visits what its own walk would.
 */
export interface SlotCandidates {
  readonly pci: readonly DeviceNode[];
}

export function slotCandidates(of: OfState): SlotCandidates {
  const pci: DeviceNode[] = [];
  const isPci = ofNodeNameMatcher(of, 'pci');
  for (let np = ofFindAllNodesNext(of, null); np; np = ofFindAllNodesNext(of, np))
    if (isPci(np)) pci.push(np);
  return { pci };
}

export interface SlotContext {
  readonly of: OfState;
  readonly bus: VioBus;
  readonly candidates: SlotCandidates;
  /** The parents' connector lists, read once per write. */
  readonly lookup: DrcLookup;
}

/**
 * find_php_slot_pci_node: for_each_node_by_name over the `pci` nodes, each got as the walk reaches it
 * and put at the next step, until one's connector has this name and type (kept, with its reference).
 */
function findPhpSlotPciNode(c: SlotContext, drcName: string, drcType: string): DeviceNode | null {
  const { of } = c;
  return of.k.fn('find_php_slot_pci_node', () => {
    let prev: DeviceNode | null = null;
    for (const np of c.candidates.pci) {
      of.k.fn('of_find_node_by_name', () => {
        ofNodeGet(of, np, FIND_HOLDER);
        ofNodePut(of, prev, FIND_HOLDER);
      });
      if (c.lookup.check(np, drcName, drcType) === 0) return np;
      prev = np;
    }
    // The last of_find_node_by_name finds nothing and puts the previous node.
    if (prev) of.k.fn('of_find_node_by_name', () => ofNodePut(of, prev, FIND_HOLDER));
    return null;
  });
}

/** find_vio_slot_node: the child of /vdevice whose connector has this name (any type). */
function findVioSlotNode(c: SlotContext, drcName: string): DeviceNode | null {
  const { of } = c;
  return of.k.fn('find_vio_slot_node', () => {
    const parent = ofFindNodeByName(of, null, 'vdevice', VDEVICE_HOLDER);
    if (!parent) return null;
    let dn = ofGetNextChild(of, parent, null, FIND_HOLDER);
    while (dn && c.lookup.check(dn, drcName, null) !== 0) dn = ofGetNextChild(of, parent, dn, FIND_HOLDER);
    // Before 5.4 the /vdevice reference is never put: one more on every write (fb26228bfc4c).
    if (of.k.profile.slot.putsNodes) ofNodePut(of, parent, VDEVICE_HOLDER);
    return dn;
  });
}

/** find_dlpar_node: a PCI slot, a PHB, then a virtual slot; the node comes with a reference. */
function findDlparNode(c: SlotContext, drcName: string): { dn: DeviceNode; type: SlotNodeType } | null {
  return c.of.k.fn('find_dlpar_node', () => {
    let dn = findPhpSlotPciNode(c, drcName, 'SLOT');
    if (dn) return { dn, type: 'slot' as const };
    dn = findPhpSlotPciNode(c, drcName, 'PHB');
    if (dn) return { dn, type: 'phb' as const };
    dn = findVioSlotNode(c, drcName);
    return dn ? { dn, type: 'vio' as const } : null;
  });
}

/**
 * Whether find_dlpar_node would find a PCI slot or a PHB, read without a reference or a message: the
 * service asks before a write, since those need a PCI bus this model does not have (the write is
 * refused before the kernel runs, so it changes nothing). The same candidates and checks as the
 * write's own searches, so the two cannot disagree.
 */
export function slotPciTypePeek(c: Omit<SlotContext, 'bus'>, drcName: string): 'slot' | 'phb' | null {
  for (const [type, kind] of [
    ['SLOT', 'slot'],
    ['PHB', 'phb'],
  ] as const)
    if (c.candidates.pci.some((np) => c.lookup.check(np, drcName, type) === 0)) return kind;
  return null;
}

/** dlpar_add_vio_slot: a node that already has a device (by name) is -EINVAL; a failed register -EIO. */
function dlparAddVioSlot(c: SlotContext, drcName: string, dn: DeviceNode): number {
  const { of } = c;
  return of.k.fn('dlpar_add_vio_slot', () => {
    if (vioFindNode(of, c.bus, dn)) return -ERRNO.EINVAL; // put_device of the find's reference
    if (!vioRegisterDeviceNode(of, c.bus, dn)) {
      of.k.printk('err', `dlpar_add_vio_slot: failed to register vio node ${drcName}`);
      return -ERRNO.EIO;
    }
    return 0;
  });
}

/** dlpar_remove_vio_slot: no device by that name is -EINVAL; else unregister and drop the find's reference. */
function dlparRemoveVioSlot(c: SlotContext, dn: DeviceNode): number {
  const { of } = c;
  return of.k.fn('dlpar_remove_vio_slot', () => {
    const dev = vioFindNode(of, c.bus, dn);
    if (!dev) return -ERRNO.EINVAL;
    vioUnregisterDevice(of, c.bus, dev);
    return 0;
  });
}

/**
 * dlpar_add_slot / dlpar_remove_slot: find the node (none: -ENODEV, silently), act by its type, put
 * it (5.4+), and print that the slot was added or removed whatever the result.
 */
function dlparSlot(c: SlotContext, file: SlotFile, drcName: string): number {
  const { of } = c;
  const fn = file === 'add_slot' ? 'dlpar_add_slot' : 'dlpar_remove_slot';
  return of.k.fn(fn, () => {
    const found = findDlparNode(c, drcName);
    if (!found) return -ERRNO.ENODEV;
    // The service refused PCI slots and PHBs before the kernel ran (slotPciTypePeek, the same checks).
    if (found.type !== 'vio') throw new PciSlotNotModelled(drcName, found.type);
    const rc = file === 'add_slot' ? dlparAddVioSlot(c, drcName, found.dn) : dlparRemoveVioSlot(c, found.dn);
    if (of.k.profile.slot.putsNodes) ofNodePut(of, found.dn, FIND_HOLDER);
    of.k.printk('info', `${MODULE}: slot ${drcName} ${file === 'add_slot' ? 'added' : 'removed'}`);
    return rc;
  });
}

/**
 * The drc name a store makes of the written bytes: up to the first newline, and up to the first NUL
 * as a C string is. Null for a write of MAX_DRC_NAME_LEN bytes or more, which the store answers 0.
 * (Up to 5.10 the store copies without a terminator and searches for the newline past the write, in
 * stack bytes; the model reads them as zeros, note 53.)
 */
export function slotStoreName(bytes: Uint8Array): string | null {
  if (bytes.length >= MAX_DRC_NAME_LEN) return null;
  let end = 0;
  while (end < bytes.length && bytes[end] !== 0x0a && bytes[end] !== 0) end++;
  return bytesDecoder.decode(bytes.subarray(0, end));
}

/** A PCI slot or PHB reached the model, which has no PCI bus for it (the service checks first). */
export class PciSlotNotModelled extends Error {
  readonly drcName: string;
  readonly nodeType: 'slot' | 'phb';
  constructor(drcName: string, nodeType: 'slot' | 'phb') {
    super(`${JSON.stringify(drcName)} names a ${nodeType === 'slot' ? 'PCI slot' : 'PHB'}`);
    this.drcName = drcName;
    this.nodeType = nodeType;
  }
}

/**
 * add_slot_store / remove_slot_store: write(2)'s answer, the byte count, 0 for a name too long (the
 * store does nothing), or the negative errno of dlpar_add_slot / dlpar_remove_slot.
 */
export function slotStore(c: SlotContext, file: SlotFile, bytes: Uint8Array): number {
  return c.of.k.fn(`${file}_store`, () => {
    const name = slotStoreName(bytes);
    if (name === null) return 0;
    const rc = dlparSlot(c, file, name);
    return rc ? rc : bytes.length;
  });
}
