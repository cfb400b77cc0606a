// The vio bus (arch/powerpc/platforms/pseries/vio.c, K-DRV-1/2/4): one device per child of /vdevice
// and of /ibm,platform-facilities, each holding a reference on its node. Nothing in the kernel's vio
// bus reacts to node removal; `pfoDevices: "fixed"` is the what-if of one that does.

import {
  type KernfsDir,
  type KernfsFile,
  kernfsAdd,
  kernfsMkdirP,
  kernfsNewDir,
  kernfsRemove,
} from '../kernel/kernfs.ts';
import { inFrameSteps, ofFindNodeByPath, ofFindProperty, ofGetNextChild, ofNodeIsType } from '../of/base.ts';
import { completeSteps } from '../of/fdt.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofNodeFullName, ofNodePathPeek } from '../of/printk-of.ts';
import { readU32 } from '../of/property.ts';
import { ofNodeGet, ofNodePut } from '../of/refs.ts';
import { type OfState, ofReconfigNotifierRegister } from '../of/state.ts';
import { matchDriver, VIO_DRIVERS, type VioDriver } from './vio-drivers.ts';

export interface VioDevice {
  readonly name: string;
  readonly node: DeviceNode;
  /** The reference holder name: `vio:<device>`. */
  readonly holder: string;
  driver: VioDriver | null;
  readonly dir: KernfsDir;
  /** Driver-private state (what probe read from the tree). */
  readonly data: Map<string, number>;
}

export interface VioBus {
  readonly devices: Map<string, VioDevice>;
  readonly drivers: readonly VioDriver[];
  readonly dir: KernfsDir;
}

const textEncoder = new TextEncoder();

/**
 * devspec_show (K-DRV-2): `%pOF` of the device's node. How that walks the parents is the kernel's
 * `%pOF` (E5): without references before 5.5, so reading it never warns; with a get and put on every
 * ancestor from 5.5, so a parent at 0 warns and a freed one is a use-after-free.
 */
function devspecShow(of: OfState, dev: VioDevice): Uint8Array {
  return of.k.tasks.runAs('cat', () =>
    of.k.fn('devspec_show', () => {
      of.k.access(dev.node, 'devspec_show', 8);
      return textEncoder.encode(`${ofNodeFullName(of, dev.node)}\n`);
    }),
  );
}

function vioSysfsAdd(of: OfState, bus: VioBus, dev: VioDevice): void {
  const file = (name: string, read: () => Uint8Array, size: () => number): KernfsFile => ({
    kind: 'file',
    name,
    parent: null,
    mode: 0o444,
    read,
    size,
  });
  const nameBytes = textEncoder.encode(`${dev.node.name}\n`);
  kernfsAdd(
    dev.dir,
    file(
      'name',
      () => nameBytes,
      () => nameBytes.length,
    ),
  );
  kernfsAdd(dev.dir, {
    ...file(
      'devspec',
      () => devspecShow(of, dev),
      () => 4096,
    ),
    action: 'devspec_show',
  });
  // The link target is fixed when the device is created; it breaks when that directory goes away.
  kernfsAdd(dev.dir, {
    kind: 'link',
    name: 'of_node',
    parent: null,
    mode: 0o777,
    target: `../../../firmware/devicetree/base${ofNodePathPeek(dev.node)}`,
  });
  kernfsAdd(bus.dir, dev.dir);
}

/** vio_register_device_node: a device for `np`, named as the bus names it, holding a reference. */
export function vioRegisterDeviceNode(
  of: OfState,
  bus: VioBus,
  np: DeviceNode,
  name: string,
): VioDevice | null {
  return of.k.fn('vio_register_device_node', () => {
    if (ofFindProperty(np, 'interrupt-controller')) return null;
    if (bus.devices.has(name)) return null; // device_add fails on a duplicate name
    const dev: VioDevice = {
      name,
      node: np,
      holder: `vio:${name}`,
      driver: null,
      dir: kernfsNewDir(name),
      data: new Map(),
    };
    ofNodeGet(of, np, dev.holder);
    bus.devices.set(name, dev);
    vioSysfsAdd(of, bus, dev);
    of.k.emit({ type: 'vio.registered', device: name, address: np.address });
    const driver = matchDriver(bus.drivers, np);
    if (driver) {
      dev.driver = driver;
      driver.probe(of, dev);
    }
    return dev;
  });
}

/** vio_unregister_device: only the `fixed` what-if calls it (K-DRV-4). */
export function vioUnregisterDevice(of: OfState, bus: VioBus, dev: VioDevice): void {
  of.k.fn('vio_unregister_device', () => {
    kernfsRemove(dev.dir);
    bus.devices.delete(dev.name);
    ofNodePut(of, dev.node, dev.holder);
    of.k.emit({ type: 'vio.unregistered', device: dev.name, address: dev.node.address });
  });
}

function deviceName(np: DeviceNode, underVdevice: boolean): string {
  if (!underVdevice) return np.name;
  const reg = ofFindProperty(np, 'reg');
  const unit = reg ? (readU32(reg.value) ?? 0) : 0;
  return unit.toString(16);
}

/** Children of a bus node registered between the steps of vio_bus_init. */
const VIO_DEVICES_PER_STEP = 64;

/** vio_bus_scan_register_devices for one bus node, in steps of VIO_DEVICES_PER_STEP children. */
function* scanRegisterSteps(
  of: OfState,
  bus: VioBus,
  path: string,
  underVdevice: boolean,
): Generator<void, void, undefined> {
  const holder = 'vio_bus_scan_register_devices';
  const root = ofFindNodeByPath(of, path, holder);
  if (!root) return;
  let registered = 0;
  for (
    let child = ofGetNextChild(of, root, null, holder);
    child;
    child = ofGetNextChild(of, root, child, holder)
  ) {
    vioRegisterDeviceNode(of, bus, child, deviceName(child, underVdevice));
    if (++registered % VIO_DEVICES_PER_STEP === 0) yield;
  }
  ofNodePut(of, root, holder);
}

/** vio_bus_init at boot (K-NODE-3: after sysfs and the cache). */
export function vioBusInit(of: OfState, fixedPfo: boolean): VioBus {
  return completeSteps(vioBusInitSteps(of, fixedPfo));
}

/**
 * vioBusInit in steps: each driver's module init in its own steps (nx842_pseries_init walks the
 * tree, see vio-drivers.ts), then the devices of each bus node in steps of VIO_DEVICES_PER_STEP, all
 * inside the vio_bus_init frame.
 */
export function* vioBusInitSteps(of: OfState, fixedPfo: boolean): Generator<void, VioBus, undefined> {
  const bus: VioBus = {
    devices: new Map(),
    drivers: VIO_DRIVERS,
    dir: kernfsMkdirP(of.sysfs, 'devices/vio'),
  };
  yield* inFrameSteps(of, 'vio_bus_init', busInitSteps(of, bus));
  if (fixedPfo) {
    // K-DRV-4 what-if: follow platform-facilities nodes as they come and go.
    ofReconfigNotifierRegister(of, {
      name: 'vio-pfo-fixed',
      notify: (action, rd) => {
        if (action === 'DETACH_NODE') {
          for (const dev of bus.devices.values()) if (dev.node === rd.dn) vioUnregisterDevice(of, bus, dev);
        } else if (action === 'ATTACH_NODE' && ofNodeIsType(rd.dn.parent, 'ibm,platform-facilities')) {
          vioRegisterDeviceNode(of, bus, rd.dn, rd.dn.name);
        }
      },
    });
  }
  return bus;
}

function* busInitSteps(of: OfState, bus: VioBus): Generator<void, void, undefined> {
  for (const driver of bus.drivers) {
    if (driver.register) yield* driver.register(of, bus);
    yield;
  }
  yield* scanRegisterSteps(of, bus, '/vdevice', true);
  yield* scanRegisterSteps(of, bus, '/ibm,platform-facilities', false);
}
