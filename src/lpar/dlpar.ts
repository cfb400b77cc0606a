// A write to /sys/kernel/dlpar on one LPAR (K-DLPAR-4), as drmgr makes it: the kernel action runs as
// task drmgr against the partition's firmware (its connectors, kept for the LPAR's life, so an add
// after a migration finds what the migration left). The report has the migration report's members
// where the two share a meaning.

import { errnoOf } from '../kernel/errno.ts';
import { type DlparRequest, dlparResources, dlparStore } from '../pseries/dlpar-sysfs.ts';
import { DlparFirmware, PartitionDrcs } from '../pseries/firmware.ts';
import { type CpuMaps, cpuMapsInit } from '../pseries/hotplug-cpu.ts';
import { type Drmem, drmemInit } from '../pseries/hotplug-memory.ts';
import { DEFAULT_TREE_OPTIONS, TREE_PROFILES, treeProfile } from '../pseries/tree.ts';
import type { Lpar } from './lpar.ts';
import { firmwareCall } from './migrations.ts';
import { type WriteReport, writeMark, writeReport } from './write-report.ts';

/** What the hotplug code of one LPAR keeps between requests: made at the first one. */
interface HotplugState {
  readonly drcs: PartitionDrcs;
  maps: CpuMaps | null;
  drmem: Drmem | null | undefined;
}

const STATES = new WeakMap<Lpar, HotplugState>();

/**
 * The partition's connectors as its firmware keeps them: from the built-in tree's options (an
 * uploaded tree's firmware offers none). The migration plan reads them too (firmware.ts).
 */
export function partitionDrcs(lpar: Lpar): PartitionDrcs {
  let s = STATES.get(lpar);
  if (!s) {
    const o = lpar.config.treeOptions;
    const profile = treeProfile(lpar.config.profile) ?? TREE_PROFILES[0]!;
    const drcs = new PartitionDrcs(
      profile,
      o ?? { ...DEFAULT_TREE_OPTIONS, cores: 0, memoryGiB: 0, spareCores: 0, spareMemoryGiB: 0 },
      lpar.firmwareRecord.ioConnectors,
    );
    s = { drcs, maps: null, drmem: undefined };
    STATES.set(lpar, s);
  }
  return s.drcs;
}

/** The connectors if a DLPAR request has run here (before, the boot assignment is all there is). */
export function partitionDrcsIfUsed(lpar: Lpar): PartitionDrcs | undefined {
  return STATES.get(lpar)?.drcs;
}

export interface DlparResult {
  readonly command: string;
  /** The parsed request, or null when the parse refused it. */
  readonly request: DlparRequest | null;
  /** write(2)'s answer: the bytes written, or a negative errno. */
  readonly rc: number;
  /** The errno name for a negative rc the service knows (EINVAL, ENODEV, EBUSY, …), else null. */
  readonly errno: string | null;
  readonly report: WriteReport & { readonly firmwareCalls: ReturnType<typeof firmwareCall>[] };
}

/** Runs one write of `command` to /sys/kernel/dlpar as task drmgr and reports what it did. */
export function dlpar(lpar: Lpar, command: string): DlparResult {
  lpar.assertAlive();
  const drcs = partitionDrcs(lpar);
  const state = STATES.get(lpar)!;
  const { k, of } = lpar;
  const mark = writeMark(lpar);
  const firmware = new DlparFirmware(drcs, lpar.system);
  const out = lpar.run('drmgr', () => {
    const result = dlparStore(
      of,
      {
        cpu: () => {
          state.maps ??= cpuMapsInit(of);
          return { of, maps: state.maps, rtas: firmware, cacheinfo: lpar.cacheinfo };
        },
        memory: () => {
          if (state.drmem === undefined) state.drmem = drmemInit(of);
          return state.drmem ? { of, drmem: state.drmem, rtas: firmware } : null;
        },
        dt: () => ({ of, rtas: firmware }),
      },
      command,
    );
    k.emit({ type: 'dlpar.written', command, rc: result.rc });
    return result;
  });
  return {
    command,
    request: out.request,
    rc: out.rc,
    errno: out.rc < 0 ? errnoOf(out.rc) : null,
    report: { firmwareCalls: firmware.log.map(firmwareCall), ...writeReport(lpar, mark) },
  };
}

/**
 * dlpar_show: what a read of /sys/kernel/dlpar prints, the resources the release's store takes
 * (`memory,cpu`; 6.12 `memory,cpu,dt`). A plain sprintf: reading it runs nothing.
 */
export function dlparShow(lpar: Lpar): string {
  return `${dlparResources(lpar.k.profile).join(',')}\n`;
}

/** The hotplug state (connectors, CPU maps, LMB table) once a request made it, for the digest. */
export function hotplugState(lpar: Lpar): Readonly<HotplugState> | undefined {
  return STATES.get(lpar);
}
