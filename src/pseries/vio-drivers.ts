// The platform-facilities drivers (K-DRV-3): pseries-rng, nx-compress-pseries and nx-crypto. They bind
// by node name prefix and `compatible`; nx-842 also listens for property updates by node name.

import { inFrameSteps, ofCompatibleList, ofFindCompatibleNodeSteps, ofFindProperty } from '../of/base.ts';
import type { DeviceNode, NodeProperty } from '../of/node.ts';
import { cString, readU32 } from '../of/property.ts';
import { type OfState, ofReconfigNotifierRegister } from '../of/state.ts';
import type { VioBus, VioDevice } from './vio.ts';

export interface VioDriver {
  readonly name: string;
  /** The node name prefix and `compatible` string it binds to. */
  readonly namePrefix: string;
  readonly compatible: string;
  readonly probe: (of: OfState, dev: VioDevice) => void;
  /**
   * Module init, before devices are scanned (notifier registration), in steps: an init that walks the
   * tree lets the event loop run between WALK_NODES_PER_STEP nodes, as the boot's other walks do.
   */
  readonly register?: (of: OfState, bus: VioBus) => Generator<void, void, undefined>;
}

export function matchDriver(drivers: readonly VioDriver[], np: DeviceNode): VioDriver | null {
  const compat = ofCompatibleList(np);
  return drivers.find((d) => np.name.startsWith(d.namePrefix) && compat.includes(d.compatible)) ?? null;
}

const NX842 = 'nx_compress_pseries';
/** NX842_HW_PAGE_SIZE: the hardware page, also the driver's minimum data size. */
const NX842_HW_PAGE_SIZE = 4096;
/** The largest data size the driver's header supports. */
const NX842_MAX_SYNC_SIZE = 65536;

interface Nx842Limits {
  max_sync_size: number;
  max_sync_sg: number;
  max_sg_len: number;
}

function limitsOf(dev: VioDevice): Nx842Limits {
  return {
    max_sync_size: dev.data.get('max_sync_size') ?? 0,
    max_sync_sg: dev.data.get('max_sync_sg') ?? 0,
    max_sg_len: dev.data.get('max_sg_len') ?? 0,
  };
}

/** strncmp(a, b, n) === 0, as C compares: up to n bytes, stopping at a NUL in both. */
function strnEq(a: string, b: string, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const ca = i < a.length ? a.charCodeAt(i) : 0;
    const cb = i < b.length ? b.charCodeAt(i) : 0;
    if (ca !== cb) return false;
    if (ca === 0) return true;
  }
  return true;
}

/**
 * The three nx842_OF_upd_* readers (E6): status must be "okay"; max_sg_len is the property capped at
 * the hardware page; max_sync_size is the smaller data limit capped at 64 KiB and must reach 4 KiB;
 * max_sync_sg is the smaller sg limit. A property of the wrong size is refused. Returns 0 or -errno.
 */
function nx842ReadLimits(of: OfState, prefix: string, np: DeviceNode, into: Nx842Limits): number {
  const status = ofFindProperty(np, 'status')!;
  const sgLen = ofFindProperty(np, 'ibm,max-sg-len')!;
  const syncCop = ofFindProperty(np, 'ibm,max-sync-cop')!;
  const value = cString(status.value);
  if (!strnEq(value, 'okay', status.value.length)) {
    if (!strnEq(value, 'disabled', status.value.length))
      of.k.printk('info', `${prefix} nx842_OF_upd_status: unknown status '${value}'`);
    return -19;
  }
  if (sgLen.value.length !== 4) {
    of.k.printk('err', `${prefix} nx842_OF_upd_maxsglen: unexpected format for ibm,max-sg-len property`);
    return -22;
  }
  into.max_sg_len = Math.min(readU32(sgLen.value)!, NX842_HW_PAGE_SIZE);
  if (syncCop.value.length !== 24) {
    of.k.printk('err', `${prefix} nx842_OF_upd_maxsyncop: unexpected format for ibm,max-sync-cop property`);
    return -22;
  }
  // comp elements, comp data limit, comp sg limit, decomp elements, decomp data limit, decomp sg limit
  const cell = (i: number) => readU32(syncCop.value, i)!;
  into.max_sync_size = Math.min(Math.min(cell(1), cell(4)), NX842_MAX_SYNC_SIZE);
  if (into.max_sync_size < NX842_HW_PAGE_SIZE) {
    of.k.printk(
      'err',
      `${prefix} nx842_OF_upd_maxsyncop: hardware max data size (${into.max_sync_size}) is less than the driver minimum, unable to use the hardware device`,
    );
    return -22;
  }
  into.max_sync_sg = Math.min(cell(2), cell(5));
  if (into.max_sync_sg < 1) {
    of.k.printk(
      'err',
      `${prefix} nx842_OF_upd_maxsyncop: hardware max sg size (${into.max_sync_sg}) is less than the driver minimum, unable to use the hardware device`,
    );
    return -22;
  }
  return 0;
}

/**
 * nx842_OF_upd(new_prop): re-reads its device's node. At probe (`newProp` null) the limits are read
 * into a copy of the defaults. On an update the check meant to pick the interesting properties is
 * `strncmp(name, "status", len) || strncmp(name, "ibm,max-sg-len", len) || …` with the *value's*
 * length: no name equals all three, so any update jumps to the log lines with the copy unchanged —
 * new equals old and nothing is applied (E6). `device disabled` follows only a failed read.
 */
function nx842OfUpd(of: OfState, dev: VioDevice, newProp: NodeProperty | null): void {
  of.k.fn('nx842_OF_upd', () => {
    const prefix = `${NX842} ${dev.name}:`;
    const old = limitsOf(dev);
    const next: Nx842Limits = { ...old };
    of.k.access(dev.node, 'nx842_OF_upd', 8);
    let rc = 0;
    if (
      !ofFindProperty(dev.node, 'status') ||
      !ofFindProperty(dev.node, 'ibm,max-sg-len') ||
      !ofFindProperty(dev.node, 'ibm,max-sync-cop')
    ) {
      of.k.printk('err', `${prefix} nx842_OF_upd: Could not locate device properties`);
      rc = -22;
    } else {
      const n = newProp?.value.length ?? 0;
      const ignored =
        newProp !== null &&
        (!strnEq(newProp.name, 'status', n) ||
          !strnEq(newProp.name, 'ibm,max-sg-len', n) ||
          !strnEq(newProp.name, 'ibm,max-sync-cop', n));
      if (!ignored) rc = nx842ReadLimits(of, prefix, dev.node, next);
    }
    if (rc) {
      of.k.printk('info', `${prefix} nx842_OF_upd: device disabled`);
      for (const key of ['max_sync_size', 'max_sync_sg', 'max_sg_len'] as const) dev.data.set(key, 0);
      return;
    }
    for (const key of ['max_sync_size', 'max_sync_sg', 'max_sg_len'] as const) {
      of.k.printk('info', `${prefix} nx842_OF_upd: ${key} new:${next[key]} old:${old[key]}`);
      dev.data.set(key, next[key]);
    }
  });
}

/**
 * nx842_pseries_init (E14): looks up the first `ibm,compression` node only to see that one exists and
 * never puts it (holder `nx842_pseries_init`), in every profile; then registers the driver. The lookup
 * walks the tree as far as that node, past /cpus (40-55 ms at 250k nodes), so it runs in steps.
 */
function nx842PseriesInit(of: OfState, bus: VioBus): Generator<void, void, undefined> {
  return inFrameSteps(of, 'nx842_pseries_init', nx842PseriesInitSteps(of, bus));
}

function* nx842PseriesInitSteps(of: OfState, bus: VioBus): Generator<void, void, undefined> {
  yield* ofFindCompatibleNodeSteps(of, null, 'ibm,compression', 'nx842_pseries_init');
  nx842NotifierRegister(of, bus);
}

/** The driver's of_reconfig notifier (nx842_OF_notifier). */
function nx842NotifierRegister(of: OfState, bus: VioBus): void {
  ofReconfigNotifierRegister(of, {
    name: 'nx842_OF_notifier',
    notify: (action, rd) => {
      if (action !== 'UPDATE_PROPERTY') return;
      // Matches by node *name*, whichever node sent it (K-DRV-3).
      for (const dev of bus.devices.values()) {
        if (dev.driver?.name === 'nx-compress-pseries' && dev.node.name === rd.dn.name)
          nx842OfUpd(of, dev, rd.prop ?? null);
      }
    },
  });
}

export const VIO_DRIVERS: readonly VioDriver[] = [
  { name: 'pseries-rng', namePrefix: 'ibm,random-v1', compatible: 'ibm,random', probe: () => {} },
  {
    name: 'nx-compress-pseries',
    namePrefix: 'ibm,compression-v1',
    compatible: 'ibm,compression',
    probe: (of, dev) => nx842OfUpd(of, dev, null),
    register: nx842PseriesInit,
  },
  {
    name: 'nx-crypto',
    namePrefix: 'ibm,sym-encryption-v1',
    compatible: 'ibm,sym-encryption',
    probe: (of, dev) =>
      of.k.fn('nx_crypto_probe', () => {
        const sgLen = ofFindProperty(dev.node, 'ibm,max-sg-len');
        dev.data.set('max_sg_len', sgLen ? (readU32(sgLen.value) ?? 0) : 0);
      }),
  },
];
