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
import {
  inFrameSteps,
  ofFindNodeByPath,
  ofFindProperty,
  ofGetNextChild,
  ofGetParent,
  ofNodeIsType,
} from '../of/base.ts';
import { completeSteps } from '../of/fdt.ts';
import { kobjectAddDuplicate } from '../of/kobj.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofNodeFullName, ofNodeNameString, ofNodePathPeek } from '../of/printk-of.ts';
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

type VioFamily = 'VDEVICE' | 'PFO';

/**
 * The device's family from its parent's `device_type` (vio_register_device_node's first step):
 * 'none' without a parent, null for a parent it does not know. The parent is looked up with a
 * reference and put again.
 */
function vioFamily(of: OfState, np: DeviceNode, holder: string): VioFamily | 'none' | null {
  const parent = ofGetParent(of, np, holder);
  if (!parent) return 'none';
  // 4.x compares the type cached when the parent was made (np->type), 5.0+ reads the property.
  const isType = (t: string) =>
    of.k.profile.slot.vioReadsTypes ? ofNodeIsType(parent, t) : parent.type === t;
  const family = isType('ibm,platform-facilities') ? 'PFO' : isType('vdevice') ? 'VDEVICE' : null;
  ofNodePut(of, parent, holder);
  return family;
}

/**
 * vio_register_device_node (K-DRV-1, K-SLOT-1): the family from the parent's type; a /vdevice child
 * needs `device_type` and `reg` and is named by `reg` in hex, a platform-facilities child is named
 * `%pOFn` and one with `interrupt-controller` is skipped. The device takes a reference on the node;
 * device_register failing on a name the bus already has prints sysfs's and kobject's complaints and
 * vio's own, and the put that follows releases the device, dropping the reference again. Null when
 * no device was made.
 */
export function vioRegisterDeviceNode(of: OfState, bus: VioBus, np: DeviceNode): VioDevice | null {
  const fn = 'vio_register_device_node';
  return of.k.fn(fn, () => {
    const family = vioFamily(of, np, fn);
    if (family === 'none') {
      of.k.printk('warn', `${fn}: could not determine the parent of node ${ofNodeNameString(of, np)}.`);
      return null;
    }
    if (family === null) {
      of.k.printk(
        'warn',
        `${fn}: parent(${ofNodeFullName(of, np.parent)}) of ${ofNodeNameString(of, np)} not recognized.`,
      );
      return null;
    }
    let name: string;
    if (family === 'PFO') {
      if (ofFindProperty(np, 'interrupt-controller')) return null; // a pr_debug only
      name = ofNodeNameString(of, np);
    } else {
      // 4.x tests of_node->type, "<NULL>" for a node without the property: never refused there.
      if (of.k.profile.slot.vioReadsTypes && !ofFindProperty(np, 'device_type')) {
        of.k.printk('warn', `${fn}: node ${ofNodeNameString(of, np)} is missing the 'device_type' property.`);
        return null;
      }
      const reg = ofFindProperty(np, 'reg');
      if (!reg) {
        of.k.printk('warn', `${fn}: node ${ofNodeNameString(of, np)} missing 'reg'`);
        return null;
      }
      name = ((readU32(reg.value) ?? 0) >>> 0).toString(16);
    }
    const dev: VioDevice = {
      name,
      node: np,
      holder: `vio:${name}`,
      driver: null,
      dir: kernfsNewDir(name),
      data: new Map(),
    };
    ofNodeGet(of, np, dev.holder);
    const failed = of.k.fn('device_register', () =>
      of.k.fn('device_add', () =>
        of.k.fn('kobject_add_internal', () =>
          bus.devices.has(name) ? kobjectAddDuplicate(of, bus.dir, name) : 0,
        ),
      ),
    );
    if (failed) {
      of.k.printk('err', `${fn}: failed to register device ${name}`);
      // put_device drops the last device reference: vio_dev_release puts the node.
      of.k.fn('vio_dev_release', () => ofNodePut(of, np, dev.holder));
      return null;
    }
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

/**
 * vio_unregister_device: device_unregister takes the device off the bus and out of sysfs; its
 * release (vio_dev_release) puts the node when the last device reference goes, here at once (the
 * callers' own device reference, vio_find_node's, is dropped straight after).
 */
export function vioUnregisterDevice(of: OfState, bus: VioBus, dev: VioDevice): void {
  of.k.fn('vio_unregister_device', () => {
    kernfsRemove(dev.dir);
    bus.devices.delete(dev.name);
    of.k.emit({ type: 'vio.unregistered', device: dev.name, address: dev.node.address });
    of.k.fn('vio_dev_release', () => ofNodePut(of, dev.node, dev.holder));
  });
}

/**
 * vio_find_node: the registered device whose name this node would have (`reg` in hex under a
 * vdevice parent, `%pOFn` under platform-facilities), found by name on the bus, so it may hold
 * another node of that name, an older copy. Null for a node of neither family or without `reg`.
 */
export function vioFindNode(of: OfState, bus: VioBus, vnode: DeviceNode): VioDevice | null {
  const fn = 'vio_find_node';
  return of.k.fn(fn, () => {
    const parent = ofGetParent(of, vnode, fn);
    if (!parent) return null;
    let name: string | null = null;
    if (ofNodeIsType(parent, 'vdevice')) {
      const reg = ofFindProperty(vnode, 'reg');
      if (reg) name = ((readU32(reg.value) ?? 0) >>> 0).toString(16);
    } else if (ofNodeIsType(parent, 'ibm,platform-facilities')) name = ofNodeNameString(of, vnode);
    ofNodePut(of, parent, fn);
    // snprintf into kobj_name[20] keeps 19 bytes; vio_find_name asks the bus for that name (with a
    // device reference the caller drops).
    return name === null ? null : (bus.devices.get(name.slice(0, 19)) ?? null);
  });
}

/** Children of a bus node registered between the steps of vio_bus_init. */
const VIO_DEVICES_PER_STEP = 64;

/** vio_bus_scan_register_devices for one bus node, in steps of VIO_DEVICES_PER_STEP children. */
function* scanRegisterSteps(of: OfState, bus: VioBus, path: string): Generator<void, void, undefined> {
  const holder = 'vio_bus_scan_register_devices';
  const root = ofFindNodeByPath(of, path, holder);
  if (!root) return;
  let registered = 0;
  for (
    let child = ofGetNextChild(of, root, null, holder);
    child;
    child = ofGetNextChild(of, root, child, holder)
  ) {
    vioRegisterDeviceNode(of, bus, child);
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
          vioRegisterDeviceNode(of, bus, rd.dn);
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
  yield* scanRegisterSteps(of, bus, '/vdevice');
  yield* scanRegisterSteps(of, bus, '/ibm,platform-facilities');
}
