// A write to /sys/bus/pci/slots/control/add_slot or remove_slot on one LPAR (K-SLOT), as drmgr makes
// it for a virtual I/O slot: the drc name, answered with write(2)'s count or errno and a report of
// the vio devices the write registered or unregistered. PCI slots and PHBs need a PCI bus this model
// does not have: such a name is refused before the kernel runs, so the refusal changes nothing.

import { errnoOf } from '../kernel/errno.ts';
import { nodeState } from '../of/node.ts';
import { ofNodePathPeek } from '../of/printk-of.ts';
import {
  PciSlotNotModelled,
  type SlotFile,
  slotCandidates,
  slotPciTypePeek,
  slotStore,
  slotStoreName,
} from '../pseries/rpadlpar.ts';
import { DrcLookup } from '../pseries/rpaphp.ts';
import type { VioDevice } from '../pseries/vio.ts';
import { LparError } from './errors.ts';
import type { Lpar } from './lpar.ts';
import { type WriteReport, writeMark, writeReport } from './write-report.ts';

export interface SlotDevice {
  /** The vio device's name (its unit address in hex, or the node name under platform-facilities). */
  readonly device: string;
  /** The path of the node the device holds (its path when it was attached, for a detached one). */
  readonly node: string;
  /** That node's state now (attached, detached, released, freed, …). */
  readonly nodeState: string;
}

export interface SlotResult {
  readonly file: SlotFile;
  /** The drc name the store made of the bytes, or null for a write too long to take. */
  readonly drcName: string | null;
  /** write(2)'s answer: the bytes written, 0 for a name of MAX_DRC_NAME_LEN bytes or more, or -errno. */
  readonly rc: number;
  readonly errno: string | null;
  readonly report: WriteReport & {
    readonly registered: SlotDevice[];
    readonly unregistered: SlotDevice[];
  };
}

/** The refusal of a name that names a PCI slot or PHB (no PCI bus in the model): 422, nothing run. */
function pciRefused(lpar: Lpar, name: string, kind: 'slot' | 'phb'): LparError {
  return new LparError(
    'unprocessable',
    'PCI hotplug is not modelled',
    `${JSON.stringify(name)} names a ${kind === 'slot' ? 'PCI slot' : 'PHB'} in LPAR ${lpar.config.id}: rpadlpar would add or remove it through the PCI core, which this model has no bus for; only virtual I/O slots (children of /vdevice) are modelled. Nothing was written.`,
    { drcName: name, nodeType: kind },
  );
}

function slotDevice(dev: VioDevice): SlotDevice {
  return { device: dev.name, node: ofNodePathPeek(dev.node), nodeState: nodeState(dev.node) };
}

/** Runs one write of `bytes` to `file` as task drmgr and reports what it did. */
export function writeSlot(lpar: Lpar, file: SlotFile, bytes: Uint8Array): SlotResult {
  lpar.assertAlive();
  const name = slotStoreName(bytes);
  const c = {
    of: lpar.of,
    bus: lpar.vio,
    candidates: slotCandidates(lpar.of),
    lookup: new DrcLookup(lpar.of),
  };
  const kind = name === null ? null : slotPciTypePeek(c, name);
  if (kind) throw pciRefused(lpar, name!, kind);
  const { k } = lpar;
  const mark = writeMark(lpar);
  const devices = new Map(lpar.vio.devices);
  let rc: number;
  try {
    rc = lpar.run('drmgr', () => {
      const r = slotStore(c, file, bytes);
      k.emit({ type: 'slot.written', file, drcName: name, rc: r });
      return r;
    });
  } catch (e) {
    // Unreachable while the look above uses the searches' own candidates and checks; a 4xx if not.
    if (e instanceof PciSlotNotModelled) throw pciRefused(lpar, e.drcName, e.nodeType);
    throw e;
  }
  const registered = [...lpar.vio.devices.values()].filter((d) => devices.get(d.name) !== d);
  const unregistered = [...devices.values()].filter((d) => lpar.vio.devices.get(d.name) !== d);
  return {
    file,
    drcName: name,
    rc,
    errno: rc < 0 ? errnoOf(rc) : null,
    report: {
      registered: registered.map(slotDevice),
      unregistered: unregistered.map(slotDevice),
      ...writeReport(lpar, mark),
    },
  };
}
