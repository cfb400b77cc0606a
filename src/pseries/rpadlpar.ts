// rpadlpar_io (drivers/pci/hotplug/rpadlpar_core.c and rpadlpar_sysfs.c, K-SLOT): I/O slot DLPAR as
// drmgr drives it, the other half of what /sys/kernel/dlpar does not take. drmgr writes a connector's
// drc name to /sys/bus/pci/slots/control/add_slot after it has added the slot's nodes (ofdt, or 6.12's
// `dt add`), and to remove_slot before it removes them. The kernel finds the node by drc name (a PCI
// slot, a PHB, then a child of /vdevice) and, for a virtual slot, registers or unregisters its vio
// device: the only place in any release where vio_register_device_node and vio_unregister_device
// run after boot. The vio device is found by name, not by node, so after a migration remove_slot on
// the re-added node unregisters the device that still holds the old one (K-DRV-1).

import { ofFindAllNodesNext, ofFindNodeByName, ofGetNextChild } from '../of/base.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';
import { rpaphpCheckDrcProps } from './rpaphp.ts';
import { type VioBus, vioFindNode, vioRegisterDeviceNode, vioUnregisterDevice } from './vio.ts';

const ENODEV = -19;
const EINVAL = -22;
const EIO = -5;

/** rpaphp.h MAX_DRC_NAME_LEN: a write of this many bytes or more is answered 0 and does nothing. */
export const MAX_DRC_NAME_LEN = 64;

const MODULE = 'rpadlpar_io';
/** The holder of the reference find_dlpar_node hands its caller (and of the walks that find it). */
const FIND_HOLDER = 'find_dlpar_node';
/** The holder of find_vio_slot_node's /vdevice lookup. */
const VDEVICE_HOLDER = 'find_vio_slot_node';

export type SlotFile = 'add_slot' | 'remove_slot';
export type SlotNodeType = 'slot' | 'phb' | 'vio';

export interface SlotContext {
  readonly of: OfState;
  readonly bus: VioBus;
}

/** find_php_slot_pci_node: the first node named "pci" whose connector has this name and type. */
function findPhpSlotPciNode(of: OfState, drcName: string, drcType: string): DeviceNode | null {
  return of.k.fn('find_php_slot_pci_node', () => {
    let np = ofFindNodeByName(of, null, 'pci', FIND_HOLDER);
    while (np && rpaphpCheckDrcProps(of, np, drcName, drcType) !== 0)
      np = ofFindNodeByName(of, np, 'pci', FIND_HOLDER);
    return np;
  });
}

/** find_vio_slot_node: the child of /vdevice whose connector has this name (any type). */
function findVioSlotNode(of: OfState, drcName: string): DeviceNode | null {
  return of.k.fn('find_vio_slot_node', () => {
    const parent = ofFindNodeByName(of, null, 'vdevice', VDEVICE_HOLDER);
    if (!parent) return null;
    let dn = ofGetNextChild(of, parent, null, FIND_HOLDER);
    while (dn && rpaphpCheckDrcProps(of, dn, drcName, null) !== 0)
      dn = ofGetNextChild(of, parent, dn, FIND_HOLDER);
    // Before 5.4 the /vdevice reference is never put: one more on every write (fb26228bfc4c).
    if (of.k.profile.slot.putsNodes) ofNodePut(of, parent, VDEVICE_HOLDER);
    return dn;
  });
}

/** find_dlpar_node: a PCI slot, a PHB, then a virtual slot; the node comes with a reference. */
function findDlparNode(of: OfState, drcName: string): { dn: DeviceNode; type: SlotNodeType } | null {
  return of.k.fn('find_dlpar_node', () => {
    let dn = findPhpSlotPciNode(of, drcName, 'SLOT');
    if (dn) return { dn, type: 'slot' as const };
    dn = findPhpSlotPciNode(of, drcName, 'PHB');
    if (dn) return { dn, type: 'phb' as const };
    dn = findVioSlotNode(of, drcName);
    return dn ? { dn, type: 'vio' as const } : null;
  });
}

/**
 * What find_dlpar_node would find, read without a reference or a message: the service asks it before
 * a write, since PCI slots and PHBs need a PCI bus this model does not have (the write is refused
 * before the kernel runs, so it changes nothing).
 */
export function slotNodeTypePeek(of: OfState, drcName: string): SlotNodeType | null {
  for (const type of ['SLOT', 'PHB'] as const)
    for (let np = of.root; np; np = ofFindAllNodesNext(of, np))
      if (np.name === 'pci' && rpaphpCheckDrcProps(of, np, drcName, type) === 0)
        return type === 'SLOT' ? 'slot' : 'phb';
  let vdevice: DeviceNode | null = null;
  for (let np = of.root; np && !vdevice; np = ofFindAllNodesNext(of, np))
    if (np.name === 'vdevice') vdevice = np;
  if (!vdevice) return null;
  for (let c = vdevice.child; c; c = c.sibling)
    if (rpaphpCheckDrcProps(of, c, drcName, null) === 0) return 'vio';
  return null;
}

/** dlpar_add_vio_slot: a node that already has a device (by name) is -EINVAL; a failed register -EIO. */
function dlparAddVioSlot(c: SlotContext, drcName: string, dn: DeviceNode): number {
  const { of } = c;
  return of.k.fn('dlpar_add_vio_slot', () => {
    if (vioFindNode(of, c.bus, dn)) return EINVAL; // put_device of the find's reference
    if (!vioRegisterDeviceNode(of, c.bus, dn)) {
      of.k.printk('err', `dlpar_add_vio_slot: failed to register vio node ${drcName}`);
      return EIO;
    }
    return 0;
  });
}

/** dlpar_remove_vio_slot: no device by that name is -EINVAL; else unregister and drop the find's reference. */
function dlparRemoveVioSlot(c: SlotContext, dn: DeviceNode): number {
  const { of } = c;
  return of.k.fn('dlpar_remove_vio_slot', () => {
    const dev = vioFindNode(of, c.bus, dn);
    if (!dev) return EINVAL;
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
    const found = findDlparNode(of, drcName);
    if (!found) return ENODEV;
    // The service refuses PCI slots and PHBs before the kernel runs (slotNodeTypePeek).
    if (found.type !== 'vio') throw new Error(`${fn}: a ${found.type} node reached the slot model`);
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
  return new TextDecoder().decode(bytes.subarray(0, end));
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
