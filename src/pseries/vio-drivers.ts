// The platform-facilities drivers (K-DRV-3): pseries-rng, nx-compress-pseries and nx-crypto. They bind
// by node name prefix and `compatible`; nx-842 also listens for property updates by node name.

import { ofFindProperty } from '../of/base.ts';
import type { DeviceNode } from '../of/node.ts';
import { cString, readU32 } from '../of/property.ts';
import { type OfState, ofReconfigNotifierRegister } from '../of/state.ts';
import type { VioBus, VioDevice } from './vio.ts';

export interface VioDriver {
  readonly name: string;
  /** The node name prefix and `compatible` string it binds to. */
  readonly namePrefix: string;
  readonly compatible: string;
  readonly probe: (of: OfState, dev: VioDevice) => void;
  /** Module init: notifier registration, before devices are scanned. */
  readonly register?: (of: OfState, bus: VioBus) => void;
}

function compatibleList(np: DeviceNode): string[] {
  const pp = ofFindProperty(np, 'compatible');
  return pp ? new TextDecoder().decode(pp.value).split('\0').filter(Boolean) : [];
}

export function matchDriver(drivers: readonly VioDriver[], np: DeviceNode): VioDriver | null {
  const compat = compatibleList(np);
  return drivers.find((d) => np.name.startsWith(d.namePrefix) && compat.includes(d.compatible)) ?? null;
}

const NX842 = 'nx_compress_pseries';

/** nx842_OF_upd: re-reads the three properties from the device's own node and logs the changes. */
function nx842OfUpd(of: OfState, dev: VioDevice): void {
  of.k.fn('nx842_OF_upd', () => {
    const prefix = `${NX842} ${dev.name}: nx842_OF_upd:`;
    of.k.access(dev.node, 'nx842_OF_upd', 8);
    const status = ofFindProperty(dev.node, 'status');
    const maxSgLen = ofFindProperty(dev.node, 'ibm,max-sg-len');
    const maxSyncCop = ofFindProperty(dev.node, 'ibm,max-sync-cop');
    if (!status || !maxSgLen || !maxSyncCop || maxSyncCop.value.length < 24 || maxSgLen.value.length < 4) {
      of.k.printk('err', `${prefix} Could not locate device properties`);
      of.k.printk('info', `${prefix} device disabled`);
      return;
    }
    if (cString(status.value) !== 'okay') {
      of.k.printk('info', `${prefix} device disabled`);
      return;
    }
    // ibm,max-sync-cop: comp elements, comp data limit, comp sg limit, decomp elements, data, sg.
    const cells = [0, 1, 2, 3, 4, 5].map((i) => readU32(maxSyncCop.value, i)!);
    const syncSize = Math.min(Math.min(cells[1]!, cells[4]!), 65536) & ~0xfff;
    const syncSg = Math.min(cells[2]!, cells[5]!);
    const sgLen = readU32(maxSgLen.value)! & ~0x7;
    const old = (key: string) => dev.data.get(key) ?? 0;
    of.k.printk('info', `${prefix} max_sync_size new:${syncSize} old:${old('max_sync_size')}`);
    of.k.printk('info', `${prefix} max_sync_sg new:${syncSg} old:${old('max_sync_sg')}`);
    of.k.printk('info', `${prefix} max_sg_len new:${sgLen} old:${old('max_sg_len')}`);
    dev.data.set('max_sync_size', syncSize);
    dev.data.set('max_sync_sg', syncSg);
    dev.data.set('max_sg_len', sgLen);
  });
}

export const VIO_DRIVERS: readonly VioDriver[] = [
  { name: 'pseries-rng', namePrefix: 'ibm,random-v1', compatible: 'ibm,random', probe: () => {} },
  {
    name: 'nx-compress-pseries',
    namePrefix: 'ibm,compression-v1',
    compatible: 'ibm,compression',
    probe: (of, dev) => nx842OfUpd(of, dev),
    register: (of, bus) =>
      ofReconfigNotifierRegister(of, {
        name: 'nx842_OF_notifier',
        notify: (action, rd) => {
          if (action !== 'UPDATE_PROPERTY') return;
          // Matches by node *name*, whichever node sent it (K-DRV-3).
          for (const dev of bus.devices.values()) {
            if (dev.driver?.name === 'nx-compress-pseries' && dev.node.name === rd.dn.name)
              nx842OfUpd(of, dev);
          }
        },
      }),
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
