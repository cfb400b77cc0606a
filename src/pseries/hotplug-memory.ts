// arch/powerpc/platforms/pseries/hotplug-memory.c as /sys/kernel/dlpar drives it (K-DLPAR-4): the
// kernel's LMB table (drmem, read from `ibm,dynamic-memory` at boot) is what a request changes, and
// drmem_update_dt writes it back as a new `ibm,dynamic-memory` through of_update_property (the old
// value goes to the dead properties, the reconfig chain hears an update). An add asks configure-
// connector for the LMB's node only to read its associativity, and frees it. The RMA (memory@0's
// range, where the kernel lives) cannot be offlined (docs/kernel-notes.md note 42).

import { ERRNO } from '../kernel/errno.ts';
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
  /** drmem_info->lmb_size, from `ibm,lmb-size`. */
  readonly lmbSize: bigint;
}

/** The LMB table's two forms in the device tree (drmem.c): v1 one cell per LMB, v2 one per run of LMBs. */
export type DrmemForm = 'ibm,dynamic-memory' | 'ibm,dynamic-memory-v2';

/** `ibm,dynamic-memory`: a count, then per LMB base (u64), drc index, reserved, aa index, flags. */
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
 * `ibm,dynamic-memory-v2` (init_drmem_v2_lmbs): a count of LMB sets, then per set the number of LMBs
 * (u32), the first base (u64), the first drc index, the aa index and the flags; the set's LMBs follow
 * each other by `ibm,lmb-size` and by drc index.
 */
function readLmbsV2(value: Uint8Array, lmbSize: bigint): Lmb[] {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const sets = value.length >= 4 ? view.getUint32(0) : 0;
  const out: Lmb[] = [];
  for (let i = 0; i < sets && 4 + i * 24 + 24 <= value.length; i++) {
    const off = 4 + i * 24;
    const seq = view.getUint32(off);
    const base = view.getBigUint64(off + 4);
    const drc = view.getUint32(off + 12);
    const aaIndex = view.getUint32(off + 16);
    const flags = view.getUint32(off + 20);
    // A set's count is a u32 and an upload's can be anything: the table stops at MAX_V2_LMBS.
    for (let j = 0; j < seq && out.length < MAX_V2_LMBS; j++)
      out.push({ base: base + BigInt(j) * lmbSize, drc: drc + j, aaIndex, flags });
  }
  return out;
}

/**
 * The most LMBs read from a v2 table: as many as the largest built-in tree has (8192 GiB assigned and
 * 8192 spare, 256 MiB each). v1 is bounded by its own length (24 bytes an LMB); v2 is not.
 */
export const MAX_V2_LMBS = 65_536;

/**
 * How many LMBs a table describes, as its form counts them (an upload's memory is counted from it):
 * v1's count, or the sum of v2's sets up to MAX_V2_LMBS; undefined for a value too short for a count.
 */
export function drmemLmbCount(form: DrmemForm, value: Uint8Array): number | undefined {
  const head = readU32(value);
  if (head === undefined || form === 'ibm,dynamic-memory') return head;
  let lmbs = 0;
  for (let i = 0; i < head && 4 + i * 24 + 24 <= value.length; i++) lmbs += readU32(value, 1 + i * 6) ?? 0;
  return Math.min(lmbs, MAX_V2_LMBS);
}

/** The table from whichever form the property has. */
function lmbsOf(form: DrmemForm, value: Uint8Array, lmbSize: bigint): Lmb[] {
  return form === 'ibm,dynamic-memory' ? readLmbs(value) : readLmbsV2(value, lmbSize);
}

/** `ibm,lmb-size` (two cells), 256 MiB when the node lacks it. */
function lmbSizeOf(dr: DeviceNode): bigint {
  const p = ofFindProperty(dr, 'ibm,lmb-size');
  return p && p.value.length >= 8
    ? new DataView(p.value.buffer, p.value.byteOffset, p.value.byteLength).getBigUint64(0)
    : 0x1000_0000n;
}

/**
 * drmem_init as boot left it, at the first DLPAR request; with `drmemFollowsUpdates` (5.16+) the
 * memory notifier re-reads the table from every update of the property (drmem_update_lmbs), so a
 * migration's new `ibm,dynamic-memory` is what the next request sees. Before, the table keeps what
 * this kernel last knew.
 */
export function drmemInit(of: OfState): Drmem | null {
  const dr = ofPeekNodeByPath(of, DRCONF);
  if (!dr) return null;
  // v1 when the node has it, else v2 (drmem_init; every release from 4.16 reads both).
  const v1 = ofFindProperty(dr, 'ibm,dynamic-memory');
  const prop = v1 ?? ofFindProperty(dr, 'ibm,dynamic-memory-v2');
  if (!prop) return null;
  const form: DrmemForm = v1 ? 'ibm,dynamic-memory' : 'ibm,dynamic-memory-v2';
  const lmbSize = lmbSizeOf(dr as DeviceNode);
  const mem = ofPeekNodeByPath(of, '/memory@0');
  const reg = mem ? ofFindProperty(mem, 'reg') : undefined;
  const rmaEnd =
    reg && reg.value.length >= 16 ? new DataView(reg.value.buffer, reg.value.byteOffset).getBigUint64(8) : 0n;
  const drmem: Drmem = { lmbs: lmbsOf(form, prop.value, lmbSize), rmaEnd, lmbSize };
  if (of.k.profile.dlpar.drmemFollowsUpdates)
    ofReconfigNotifierRegister(of, {
      name: 'pseries_memory_notifier',
      notify: (action, rd) => {
        if (
          action === 'UPDATE_PROPERTY' &&
          rd.dn.name === 'ibm,dynamic-reconfiguration-memory' &&
          (rd.prop?.name === 'ibm,dynamic-memory' || rd.prop?.name === 'ibm,dynamic-memory-v2')
        )
          // drmem_update_lmbs: by the updated property's own name.
          drmem.lmbs = lmbsOf(rd.prop.name, rd.prop.value, lmbSize);
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
    if (!lmbIsRemovable(c, lmb)) return -ERRNO.EINVAL;
    if (lmb.base < c.drmem.rmaEnd) return -ERRNO.EBUSY;
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
    if (!node) return -ERRNO.EINVAL;
    const assoc = ofFindProperty(node, 'ibm,associativity');
    const dr = ofPeekNodeByPath(of, DRCONF);
    const ala = dr ? ofFindProperty(dr, 'ibm,associativity-lookup-arrays') : undefined;
    if (!assoc || !ala) {
      dlparFreeCcNodes(of, node);
      return -ERRNO.ENODEV;
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
    if (lmb.flags & DRCONF_MEM_ASSIGNED) return -ERRNO.EINVAL;
    const rc = updateLmbAssociativity(c, lmb);
    if (rc) {
      dlparReleaseDrc(c.of, c.rtas, lmb.drc);
      return rc;
    }
    lmb.flags |= DRCONF_MEM_ASSIGNED;
    return 0;
  });
}

/**
 * drmem_update_dt_v2: runs of LMBs whose aa index and flags equal the previous LMB's make one set
 * (the kernel does not check that bases and drc indexes follow each other; its tables always do).
 */
function drmemV2Value(lmbs: readonly Lmb[]): Uint8Array {
  const starts: number[] = [];
  lmbs.forEach((l, i) => {
    const prev = lmbs[i - 1];
    if (!prev || prev.aaIndex !== l.aaIndex || prev.flags !== l.flags) starts.push(i);
  });
  const out = new Uint8Array(4 + starts.length * 24);
  const view = new DataView(out.buffer);
  view.setUint32(0, starts.length);
  starts.forEach((start, k) => {
    const l = lmbs[start]!;
    const off = 4 + k * 24;
    view.setUint32(off, (starts[k + 1] ?? lmbs.length) - start);
    view.setBigUint64(off + 4, l.base);
    view.setUint32(off + 12, l.drc);
    view.setUint32(off + 16, l.aaIndex >>> 0);
    view.setUint32(off + 20, l.flags >>> 0);
  });
  return out;
}

/**
 * drmem_update_dt: the table written back as a new `ibm,dynamic-memory` when the node has one, else as
 * a new `ibm,dynamic-memory-v2` when it has that.
 */
function drmemUpdateDt(c: MemoryHotplugContext): number {
  const { of, drmem } = c;
  return of.k.fn('drmem_update_dt', () => {
    const dr = ofPeekNodeByPath(of, DRCONF);
    if (!dr) return -1;
    if (!ofFindProperty(dr, 'ibm,dynamic-memory')) {
      if (!ofFindProperty(dr, 'ibm,dynamic-memory-v2')) return -1;
      const value = drmemV2Value(drmem.lmbs);
      return ofUpdateProperty(of, dr as DeviceNode, { name: 'ibm,dynamic-memory-v2', value });
    }
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
  if (count === 0) return -ERRNO.EINVAL;
  let available = 0;
  for (const l of drmem.lmbs) {
    if (lmbIsRemovable(c, l)) available++;
    if (available === count) break;
  }
  if (available < count) {
    info(c, false, `Not enough LMBs available (${available} of ${count}) to satisfy request`);
    return -ERRNO.EINVAL;
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
    return -ERRNO.EINVAL;
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
  let rc = -ERRNO.EINVAL;
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
  if (count === 0) return -ERRNO.EINVAL;
  let available = 0;
  for (const l of drmem.lmbs) {
    if (!(l.flags & DRCONF_MEM_ASSIGNED)) available++;
    if (available === count) break;
  }
  if (available < count) return -ERRNO.EINVAL;
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
    return -ERRNO.EINVAL;
  }
  const quiet = of.k.profile.dlpar.memoryQuietIndex;
  for (const l of added) info(c, quiet, `Memory at ${hex(l.base)} (drc index ${hex(l.drc)}) was hot-added`);
  return 0;
}

function addByIndex(c: MemoryHotplugContext, drc: number): number {
  info(c, false, `Attempting to hot-add LMB, drc index ${hex(drc)}`);
  const lmb = c.drmem.lmbs.find((l) => l.drc === drc);
  let rc = -ERRNO.EINVAL;
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
    else rc = -ERRNO.EINVAL;
    if (!rc) rc = drmemUpdateDt(c);
    return rc;
  });
}
