// arch/powerpc/platforms/pseries/hotplug-memory.c as /sys/kernel/dlpar drives it (K-DLPAR-4): the
// kernel's LMB table (drmem, read from `ibm,dynamic-memory` at boot) is what a request changes, and
// drmem_update_dt writes it back as a new `ibm,dynamic-memory` through of_update_property (the old
// value goes to the dead properties, the reconfig chain hears an update). An add asks configure-
// connector for the LMB's node only to read its associativity, and frees it. The RMA (memory@0's
// range, where the kernel lives) cannot be offlined (docs/kernel-notes.md note 42).

import { ofFindProperty, ofPeekNodeByPath } from '../of/base.ts';
import { ofUpdateProperty } from '../of/dynamic.ts';
import type { DeviceNode } from '../of/node.ts';
import { readU32 } from '../of/property.ts';
import { type OfState, ofReconfigNotifierRegister } from '../of/state.ts';
import { dlparAcquireDrc, dlparConfigureConnector, dlparFreeCcNodes, dlparReleaseDrc } from './dlpar.ts';
import type { HpAction, HpIdType } from './hotplug-cpu.ts';
import type { HotplugRtas } from './rtas.ts';
import { DRCONF_MEM_ASSIGNED, DRCONF_MEM_RESERVED, NO_AA_INDEX } from './tree.ts';

const PR = 'pseries-hotplug-mem: ';
const EINVAL = -22;
const EBUSY = -16;
const ENODEV = -19;
const DRCONF = '/ibm,dynamic-reconfiguration-memory';

export interface Lmb {
  readonly base: bigint;
  readonly drc: number;
  aaIndex: number;
  flags: number;
}

/** drmem_info: the LMBs, and the end of the RMA (no LMB below it goes offline). */
export interface Drmem {
  lmbs: Lmb[];
  readonly rmaEnd: bigint;
}

function readLmbs(value: Uint8Array): Lmb[] {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const n = value.length >= 4 ? view.getUint32(0) : 0;
  const out: Lmb[] = [];
  for (let i = 0; i < n && 4 + i * 24 + 24 <= value.length; i++) {
    const off = 4 + i * 24;
    out.push({
      base: view.getBigUint64(off),
      drc: view.getUint32(off + 8),
      aaIndex: view.getUint32(off + 16),
      flags: view.getUint32(off + 20),
    });
  }
  return out;
}

/**
 * drmem_init as boot left it, at the first DLPAR request; with `drmemFollowsUpdates` (5.16+) the
 * memory notifier re-reads the table from every update of the property (drmem_update_lmbs), so a
 * migration's new `ibm,dynamic-memory` is what the next request sees. Before, the table keeps what
 * this kernel last knew.
 */
export function drmemInit(of: OfState): Drmem | null {
  const dr = ofPeekNodeByPath(of, DRCONF);
  const prop = dr ? ofFindProperty(dr, 'ibm,dynamic-memory') : undefined;
  if (!prop) return null;
  const mem = ofPeekNodeByPath(of, '/memory@0');
  const reg = mem ? ofFindProperty(mem, 'reg') : undefined;
  const rmaEnd =
    reg && reg.value.length >= 16 ? new DataView(reg.value.buffer, reg.value.byteOffset).getBigUint64(8) : 0n;
  const drmem: Drmem = { lmbs: readLmbs(prop.value), rmaEnd };
  if (of.k.profile.dlpar.drmemFollowsUpdates)
    ofReconfigNotifierRegister(of, {
      name: 'pseries_memory_notifier',
      notify: (action, rd) => {
        if (
          action === 'UPDATE_PROPERTY' &&
          rd.dn.name === 'ibm,dynamic-reconfiguration-memory' &&
          rd.prop?.name === 'ibm,dynamic-memory'
        )
          drmem.lmbs = readLmbs(rd.prop.value);
      },
    });
  return drmem;
}

export interface MemoryHotplugContext {
  readonly of: OfState;
  readonly drmem: Drmem;
  readonly rtas: HotplugRtas;
}

const hex = (n: number | bigint) => n.toString(16);

function lmbIsRemovable(c: MemoryHotplugContext, lmb: Lmb): boolean {
  const how = c.of.k.profile.dlpar.lmbRemovable;
  if (how === 'unreserved' && lmb.flags & DRCONF_MEM_RESERVED) return false;
  if (!(lmb.flags & DRCONF_MEM_ASSIGNED)) return false;
  // 4.x to 5.4 ask is_mem_section_removable, which the kernel's own memory fails.
  if (how === 'sections' && lmb.base < c.drmem.rmaEnd) return false;
  return true;
}

/** dlpar_remove_lmb: offline (device_offline fails in the RMA), remove, unassign. */
function dlparRemoveLmb(c: MemoryHotplugContext, lmb: Lmb): number {
  return c.of.k.fn('dlpar_remove_lmb', () => {
    if (!lmbIsRemovable(c, lmb)) return EINVAL;
    if (lmb.base < c.drmem.rmaEnd) return EBUSY;
    lmb.aaIndex = NO_AA_INDEX;
    lmb.flags &= ~DRCONF_MEM_ASSIGNED;
    return 0;
  });
}

/** update_lmb_associativity_index: the LMB's node from configure-connector, read, then freed. */
function updateLmbAssociativity(c: MemoryHotplugContext, lmb: Lmb): number {
  const { of } = c;
  return of.k.fn('update_lmb_associativity_index', () => {
    const root = of.root!;
    const node = dlparConfigureConnector(of, c.rtas, lmb.drc, root);
    if (!node) return EINVAL;
    const assoc = ofFindProperty(node, 'ibm,associativity');
    const dr = ofPeekNodeByPath(of, DRCONF);
    const ala = dr ? ofFindProperty(dr, 'ibm,associativity-lookup-arrays') : undefined;
    if (!assoc || !ala) {
      dlparFreeCcNodes(of, node);
      return ENODEV;
    }
    const arrays = readU32(ala.value, 0) ?? 0;
    const entries = readU32(ala.value, 1) ?? 0;
    let found = -1;
    for (let i = 0; i < arrays && found < 0; i++) {
      let same = true;
      for (let j = 0; j < entries; j++)
        if (readU32(ala.value, 2 + i * entries + j) !== readU32(assoc.value, 1 + j)) same = false;
      if (same) found = i;
    }
    dlparFreeCcNodes(of, node);
    if (found < 0) {
      // find_aa_index would append the array; PowerVM's LMBs always match one (note 42).
      of.k.printk('err', `${PR}Could not find LMB associativity`);
      return -1;
    }
    lmb.aaIndex = found;
    return 0;
  });
}

function dlparAddLmb(c: MemoryHotplugContext, lmb: Lmb): number {
  return c.of.k.fn('dlpar_add_lmb', () => {
    if (lmb.flags & DRCONF_MEM_ASSIGNED) return EINVAL;
    const rc = updateLmbAssociativity(c, lmb);
    if (rc) {
      dlparReleaseDrc(c.of, c.rtas, lmb.drc);
      return rc;
    }
    lmb.flags |= DRCONF_MEM_ASSIGNED;
    return 0;
  });
}

/** drmem_update_dt (v1): the table as a new `ibm,dynamic-memory`. */
function drmemUpdateDt(c: MemoryHotplugContext): number {
  const { of, drmem } = c;
  return of.k.fn('drmem_update_dt', () => {
    const dr = ofPeekNodeByPath(of, DRCONF);
    if (!dr) return -1;
    const out = new Uint8Array(4 + drmem.lmbs.length * 24);
    const view = new DataView(out.buffer);
    view.setUint32(0, drmem.lmbs.length);
    drmem.lmbs.forEach((l, i) => {
      const off = 4 + i * 24;
      view.setBigUint64(off, l.base);
      view.setUint32(off + 8, l.drc);
      view.setUint32(off + 16, l.aaIndex >>> 0);
      view.setUint32(off + 20, l.flags >>> 0);
    });
    return ofUpdateProperty(of, dr as DeviceNode, { name: 'ibm,dynamic-memory', value: out });
  });
}

function info(c: MemoryHotplugContext, quiet: boolean, text: string): void {
  if (quiet) c.of.k.prDebug(() => `${PR}${text}`);
  else c.of.k.printk('info', `${PR}${text}`);
}

function removeByCount(c: MemoryHotplugContext, count: number): number {
  const { of, drmem } = c;
  info(c, false, `Attempting to hot-remove ${count} LMB(s)`);
  if (count === 0) return EINVAL;
  let available = 0;
  for (const l of drmem.lmbs) {
    if (lmbIsRemovable(c, l)) available++;
    if (available === count) break;
  }
  if (available < count) {
    info(c, false, `Not enough LMBs available (${available} of ${count}) to satisfy request`);
    return EINVAL;
  }
  const removed: Lmb[] = [];
  for (const l of drmem.lmbs) {
    if (removed.length === count) break;
    if (!dlparRemoveLmb(c, l)) removed.push(l);
  }
  if (removed.length !== count) {
    of.k.printk('err', `${PR}Memory hot-remove failed, adding LMB's back`);
    for (const l of removed)
      if (dlparAddLmb(c, l)) of.k.printk('err', `${PR}Failed to add LMB back, drc index ${hex(l.drc)}`);
    return EINVAL;
  }
  for (const l of removed) {
    dlparReleaseDrc(of, c.rtas, l.drc);
    info(c, false, `Memory at ${hex(l.base)} was hot-removed`);
  }
  return 0;
}

function removeByIndex(c: MemoryHotplugContext, drc: number): number {
  const quiet = c.of.k.profile.dlpar.memoryQuietIndex;
  info(c, quiet, `Attempting to hot-remove LMB, drc index ${hex(drc)}`);
  const lmb = c.drmem.lmbs.find((l) => l.drc === drc);
  let rc = EINVAL;
  if (lmb) {
    rc = dlparRemoveLmb(c, lmb);
    if (!rc) dlparReleaseDrc(c.of, c.rtas, lmb.drc);
  }
  // The kernel prints the last LMB it looked at when none matched (its loop cursor).
  const at = lmb ?? c.drmem.lmbs.at(-1);
  if (rc) info(c, quiet, `Failed to hot-remove memory at ${hex(at?.base ?? 0n)}`);
  else info(c, quiet, `Memory at ${hex(lmb!.base)} was hot-removed`);
  return rc;
}

function addByCount(c: MemoryHotplugContext, count: number): number {
  const { of, drmem } = c;
  info(c, false, `Attempting to hot-add ${count} LMB(s)`);
  if (count === 0) return EINVAL;
  let available = 0;
  for (const l of drmem.lmbs) {
    if (!(l.flags & DRCONF_MEM_ASSIGNED)) available++;
    if (available === count) break;
  }
  if (available < count) return EINVAL;
  const added: Lmb[] = [];
  for (const l of drmem.lmbs) {
    if (added.length === count) break;
    if (l.flags & DRCONF_MEM_ASSIGNED) continue;
    if (dlparAcquireDrc(of, c.rtas, l.drc)) continue;
    if (dlparAddLmb(c, l)) {
      dlparReleaseDrc(of, c.rtas, l.drc);
      continue;
    }
    added.push(l);
  }
  if (added.length !== count) {
    of.k.printk('err', `${PR}Memory hot-add failed, removing any added LMBs`);
    for (const l of added)
      if (dlparRemoveLmb(c, l)) of.k.printk('err', `${PR}Failed to remove LMB, drc index ${hex(l.drc)}`);
      else dlparReleaseDrc(of, c.rtas, l.drc);
    return EINVAL;
  }
  const quiet = of.k.profile.dlpar.memoryQuietIndex;
  for (const l of added) info(c, quiet, `Memory at ${hex(l.base)} (drc index ${hex(l.drc)}) was hot-added`);
  return 0;
}

function addByIndex(c: MemoryHotplugContext, drc: number): number {
  info(c, false, `Attempting to hot-add LMB, drc index ${hex(drc)}`);
  const lmb = c.drmem.lmbs.find((l) => l.drc === drc);
  let rc = EINVAL;
  if (lmb) {
    rc = dlparAcquireDrc(c.of, c.rtas, lmb.drc);
    if (!rc) {
      rc = dlparAddLmb(c, lmb);
      if (rc) dlparReleaseDrc(c.of, c.rtas, lmb.drc);
    }
  }
  if (rc) info(c, false, `Failed to hot-add memory, drc index ${hex(drc)}`);
  else info(c, false, `Memory at ${hex(lmb!.base)} (drc index ${hex(drc)}) was hot-added`);
  return rc;
}

/** dlpar_memory: the request, then (when it succeeded) drmem_update_dt. indexed-count is not modelled. */
export function dlparMemory(
  c: MemoryHotplugContext,
  action: HpAction,
  idType: HpIdType,
  value: number,
): number {
  return c.of.k.fn('dlpar_memory', () => {
    let rc: number;
    if (idType === 'count') rc = action === 'add' ? addByCount(c, value) : removeByCount(c, value);
    else if (idType === 'index') rc = action === 'add' ? addByIndex(c, value) : removeByIndex(c, value);
    else rc = EINVAL;
    if (!rc) rc = drmemUpdateDt(c);
    return rc;
  });
}
