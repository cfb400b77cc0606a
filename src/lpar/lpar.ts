// The Lpar aggregate: one simulated partition (kernel runtime, OF state, vio bus, the system it runs
// on) and the operations the API offers on it. Every operation runs as a named task, and the events
// the model reported are drained into the LPAR's event log when it ends.

import { Kernel, TaskKilled } from '../kernel/kernel.ts';
import type { KernelOptions, KernelProfile } from '../kernel/profiles.ts';
import { ofFindNodeByPath, ofPeekNodeByPath } from '../of/base.ts';
import { completeSteps, type FdtBootParams, type FdtNode } from '../of/fdt.ts';
import { BootImage } from '../of/image.ts';
import type { DeviceNode } from '../of/node.ts';
import { ofFindNodeByPhandle, ofRebuildPhandleCache, type PhandleLookup } from '../of/phandle-cache.ts';
import { ofNodeGet, ofNodePut } from '../of/refs.ts';
import { type OfState, ofStateInit } from '../of/state.ts';
import { type BootStats, ofCoreInitSteps, unflattenSteps } from '../of/unflatten.ts';
import { type CacheInfo, cacheInfoNew, cacheinfoInitSteps } from '../pseries/cacheinfo.ts';
import { cpusImageNodes, type PartitionRecord, recordPartitionSteps } from '../pseries/firmware.ts';
import { drmemLmbCount } from '../pseries/hotplug-memory.ts';
import { type OfdtResult, ofdtWrite } from '../pseries/reconfig.ts';
import { rngInitSteps } from '../pseries/rng.ts';
import type { SlotFile } from '../pseries/rpadlpar.ts';
import type { ManagedSystem } from '../pseries/systems.ts';
import { type CpuTopology, topologyInitSteps } from '../pseries/topology.ts';
import type { PhandleScheme, TreeOptions, TreeProfileName } from '../pseries/tree.ts';
import { type VioBus, vioBusInitSteps } from '../pseries/vio.ts';
import { type DlparResult, dlpar } from './dlpar.ts';
import { NodeDocumentCache } from './document-cache.ts';
import { badRequest, conflict, LparError, notFound } from './errors.ts';
import { EventLog } from './events.ts';
import type { Migration } from './migrations.ts';
import { applyOverlay, removeOverlay } from './overlays.ts';
import { type PrrnEvent, type PrrnRequest, prrn } from './prrn.ts';
import { type SlotResult, writeSlot } from './slots.ts';
import { checkOfPath, type PathLimits } from './views.ts';

export interface LparConfig {
  readonly id: string;
  readonly name: string;
  /** `power9`, `power10`, or `dtb` for an uploaded tree. */
  readonly profile: TreeProfileName | 'dtb';
  readonly kernel: KernelProfile;
  readonly phandleScheme: PhandleScheme | null;
  readonly seed: number;
  /** Who the LPAR was born as: an import or a reboot boots the same tree and kernel again. */
  readonly identity: LparIdentity;
  readonly kernelOptions: KernelOptions;
  readonly treeOptions: TreeOptions | null;
  readonly createdAt: string;
  readonly maxEvents: number;
  readonly maxDmesgLines: number;
  readonly maxMigrationsKept: number;
  readonly pathLimits: PathLimits;
  /** An uploaded blob's /memreserve/ entries and boot_cpuid_phys (tree.dtb writes them back). */
  readonly bootParams?: FdtBootParams;
}

/**
 * The identity an LPAR was created with, which its history carries (GET /v1/lpars/{lpar}/journal):
 * a built-in tree is made from the partition's name and number, and the kernel draws its randomness
 * (the oops id) from `kernelSeed`, the seed mixed with the birth id so that LPARs of one seed differ.
 * An imported LPAR keeps the identity of the one it was exported from, under its own id and name.
 */
export interface LparIdentity {
  readonly id: string;
  readonly name: string;
  readonly partitionNo: number;
  readonly kernelSeed: number;
  readonly createdAt: string;
}

export interface ExplicitRef {
  readonly id: string;
  readonly node: DeviceNode;
  readonly holder: string;
}

/** How a request names a node. `path` and `address` inspect; `phandle` acts like kernel code. */
export type NodeRef = { readonly path: string } | { readonly address: string } | { readonly phandle: number };

/** The task API lookups run as. */
export const API_TASK = 'lparsim';

export class Lpar {
  readonly config: LparConfig;
  /** What firmware recorded of the partition when it booted (the hypervisor's view, not the kernel's). */
  readonly firmwareRecord: PartitionRecord;
  /** The latest migrations (at most maxMigrationsKept), oldest first. */
  readonly migrations: Migration[] = [];
  /** Migrations ever started here: ids stay unique after old reports are dropped. */
  migrationCount = 0;
  /** PRRN events delivered so far (their ids, p1, p2, …). */
  prrnCount = 0;
  readonly k: Kernel;
  readonly of: OfState;
  readonly vio: VioBus;
  /** E10: the logical CPUs' devices, each holding its core's node. */
  readonly cpus: CpuTopology;
  /** E10: cacheinfo's cache objects, each holding its cache node. */
  readonly cacheinfo: CacheInfo;
  /** What the boot allocated (nodes, properties, value bytes): the memory budget's measure of it. */
  readonly bootStats: Readonly<BootStats>;
  /** Immutable boot data (of/image.ts), possibly shared with other LPARs booted from the same blob. */
  readonly bootImage: BootImage;
  readonly events: EventLog;
  system: ManagedSystem;
  readonly refs = new Map<string, ExplicitRef>();
  private nextRef = 1;
  /** The id the next explicit reference will get (read-only, for digests). */
  get nextRefId(): number {
    return this.nextRef;
  }
  /** Kernel actions run so far (Lpar.run): how the journal tells a GET that acted from one that looked. */
  actions = 0;
  /** Node documents written since the last kernel action (documents.ts; not model state). */
  readonly documentCache = new NodeDocumentCache();
  /** Serialises mutations (a migration may await persistence in later versions). */
  private queue: Promise<unknown> = Promise.resolve();

  /** Takes a booted model (bootLparSteps builds it) and records the boot as one event. */
  constructor(config: LparConfig, system: ManagedSystem, booted: BootedModel) {
    this.config = config;
    this.system = system;
    this.firmwareRecord = booted.firmwareRecord;
    this.k = booted.k;
    this.of = booted.of;
    this.cpus = booted.cpus;
    this.cacheinfo = booted.cacheinfo;
    this.vio = booted.vio;
    this.bootStats = booted.stats;
    this.bootImage = booted.image;
    this.events = new EventLog(config.id, config.maxEvents);
    // Boot is one event, not one per node: a 100k-node tree would otherwise start with 300k events.
    const k = this.k;
    let dmesgLines = booted.dmesgLines;
    for (const e of k.events) if (e.type === 'dmesg') dmesgLines += 1;
    k.events = [
      {
        type: 'lpar.booted',
        kernel: config.kernel.name,
        system: system.name,
        nodes: this.of.nodes.size,
        vioDevices: this.vio.devices.size,
        dmesgLines,
      },
    ];
    this.drain();
  }

  /**
   * Runs a model operation (a kernel action) as `comm` and drains its events. Every kernel action
   * passes here, so here a panicked partition refuses it, and an oops (E7) that kills the task ends
   * the operation as a problem naming the signal; what the kernel did before it stays done. Callers
   * that change service state before they reach this check `assertAlive` first.
   */
  run<T>(comm: string, fn: () => T): T {
    this.assertAlive();
    this.actions += 1;
    try {
      return this.k.tasks.runAs(comm, fn);
    } catch (e) {
      if (e instanceof TaskKilled) throw this.killed(e);
      throw e;
    } finally {
      this.drain();
    }
  }

  /** The problem an oops that killed the caller's task answers. */
  private killed(e: TaskKilled): LparError {
    return new LparError(
      'task-killed',
      'The writing task was killed by an oops',
      `the kernel oopsed in ${e.function}; ${e.comm} was killed by ${e.signal} and its write never returned` +
        (e.panicked
          ? '; the partition panicked (panicOnOops) and refuses kernel operations until it is deleted'
          : ''),
      {
        signal: e.signal,
        function: e.function,
        comm: e.comm,
        panicked: e.panicked,
        taint: [...this.k.taints],
      },
    );
  }

  /** Serialises async work on this LPAR: one mutation at a time, in arrival order. */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private drain(): void {
    if (this.k.events.length === 0) return;
    const events = this.k.events;
    this.k.events = [];
    this.events.append(events, this.k.clock.usec);
  }

  private get pathLimits(): PathLimits {
    return this.config.pathLimits;
  }

  nodeByAddress(address: string): DeviceNode {
    const np = this.of.nodes.get(address);
    if (!np) throw notFound('Node', `no node was ever allocated at ${address} in LPAR ${this.config.id}`);
    return np;
  }

  // ---- lookups ----

  /** of_find_node_by_phandle as a kernel caller: get, then put (the REST lookup, scenario `lookup`). */
  lookupPhandle(handle: number): PhandleLookup {
    return this.run(API_TASK, () => {
      const result = ofFindNodeByPhandle(this.of, handle, API_TASK);
      ofNodePut(this.of, result.node, API_TASK);
      return result;
    });
  }

  /** Resolves a node reference for inspection: no reference taken, no cache touched (except `phandle`). */
  resolve(ref: NodeRef): DeviceNode {
    if ('address' in ref) return this.nodeByAddress(ref.address);
    if ('path' in ref) {
      checkOfPath(ref.path, this.pathLimits);
      // Looking never changes what is looked at: no of_find_node_by_path, no reference, no event.
      const np = ofPeekNodeByPath(this.of, ref.path);
      if (!np) throw notFound('Node', `no attached node at path ${JSON.stringify(ref.path)}`);
      return np;
    }
    const { node } = this.lookupPhandle(ref.phandle);
    if (!node) throw notFound('Node', `of_find_node_by_phandle(0x${ref.phandle.toString(16)}) found nothing`);
    return node;
  }

  // ---- explicit references (K-REF-1, holders named by the client) ----

  get(ref: NodeRef, holder: string): ExplicitRef {
    this.assertAlive();
    let np: DeviceNode | null;
    if ('phandle' in ref) {
      np = this.run(holder, () => ofFindNodeByPhandle(this.of, ref.phandle, holder).node);
      if (!np) throw notFound('Node', `of_find_node_by_phandle(0x${ref.phandle.toString(16)}) found nothing`);
    } else if ('path' in ref) {
      checkOfPath(ref.path, this.pathLimits);
      np = this.run(holder, () => ofFindNodeByPath(this.of, ref.path, holder));
      if (!np) throw notFound('Node', `no attached node at path ${JSON.stringify(ref.path)}`);
    } else {
      const target = this.nodeByAddress(ref.address);
      np = this.run(holder, () => ofNodeGet(this.of, target, holder));
    }
    const id = `r${this.nextRef++}`;
    const explicit: ExplicitRef = { id, node: np!, holder };
    this.refs.set(id, explicit);
    return explicit;
  }

  putRef(id: string): ExplicitRef {
    this.assertAlive();
    const ref = this.refs.get(id);
    if (!ref)
      throw notFound('Reference', `no outstanding reference ${JSON.stringify(id)} in LPAR ${this.config.id}`);
    this.refs.delete(id);
    this.run(ref.holder, () => ofNodePut(this.of, ref.node, ref.holder));
    return ref;
  }

  /** of_node_put by a named holder, balanced or not (a put with nothing held is recorded as unbalanced). */
  putByHolder(ref: NodeRef, holder: string): DeviceNode {
    if ('phandle' in ref)
      throw badRequest('Unsupported node reference', 'a put names its node by path or address');
    this.assertAlive();
    const np = this.resolve(ref);
    this.run(holder, () => ofNodePut(this.of, np, holder));
    // An explicit ref of this holder on this node is now spent.
    for (const [id, r] of this.refs) {
      if (r.node === np && r.holder === holder) {
        this.refs.delete(id);
        break;
      }
    }
    return np;
  }

  // ---- edits ----

  /**
   * A write(2) to /proc/ppc64/ofdt by drmgr. An oops in it (E7) kills the writer: the write never
   * returns, which the API answers as a problem naming the signal; what the kernel did stays done.
   */
  ofdt(bytes: Uint8Array): OfdtResult {
    return this.run('drmgr', () => ofdtWrite(this.of, bytes));
  }

  /**
   * A PRRN event from firmware naming `req.nodes` (K-PRRN): rtasd handles it as the profile says, with
   * the ibm,update-nodes loop where the kernel runs one. A kernel action, journaled as its request.
   */
  prrn(req: PrrnRequest, now: () => Date, clockMs: () => number): PrrnEvent {
    return prrn(this, req, now, clockMs);
  }

  /**
   * A write(2) of `command` to /sys/kernel/dlpar by drmgr (K-DLPAR-4): `cpu|memory add|remove
   * count|index|indexed-count …`, answered with the bytes written or the errno, and a report.
   */
  dlpar(command: string): DlparResult {
    return dlpar(this, command);
  }

  /**
   * A write(2) of `bytes` (a drc name) to /sys/bus/pci/slots/control/`file` by drmgr (K-SLOT): a
   * virtual slot's vio device registered or unregistered, answered with the bytes written or the errno.
   */
  slot(file: SlotFile, bytes: Uint8Array): SlotResult {
    return writeSlot(this, file, bytes);
  }

  /** E7: a panicked partition runs nothing until it is rebooted or deleted. */
  assertAlive(): void {
    if (this.k.panicked)
      throw new LparError(
        'panicked',
        'The partition has panicked',
        `LPAR ${this.config.id} panicked after an oops (panicOnOops); inspect it, or delete it`,
      );
  }

  rebuildPhandleCache(): void {
    const model = this.of.cache.model;
    const done = this.run(API_TASK, () => ofRebuildPhandleCache(this.of));
    if (!done)
      throw conflict(
        'No rebuild for this cache model',
        `the ${model} phandle cache has no rebuild (K-CACHE-5); only pow2 and pow2-refs do`,
      );
  }

  /**
   * of_overlay_fdt_apply of an overlay blob (`dtc -@` output), a kernel action (docs/kernel-notes.md
   * note 41); a kernel errno is a problem carrying it, a blob over `limits` a 413 before the kernel.
   */
  applyOverlay(blob: Uint8Array, limits: { maxNodes: number; maxDepth: number }) {
    return applyOverlay(this, blob, limits);
  }

  /** of_overlay_remove of overlay `id` (topmost only), a kernel action. */
  removeOverlay(id: number) {
    return removeOverlay(this, id);
  }
}

/** What a boot builds before the Lpar exists: the kernel, the OF state and the initcalls' holders. */
export interface BootedModel {
  readonly firmwareRecord: PartitionRecord;
  /** The boot data the nodes read their boot properties from (shared by LPARs of the same blob). */
  readonly image: BootImage;
  readonly k: Kernel;
  readonly of: OfState;
  readonly cpus: CpuTopology;
  readonly cacheinfo: CacheInfo;
  readonly vio: VioBus;
  /** dmesg lines already folded out of the boot's events (the rest are still in `k.events`). */
  readonly dmesgLines: number;
  readonly stats: BootStats;
}

/**
 * What LPARs booted from one blob share (Registry keeps it per blob): the boot image the nodes read
 * their boot properties from, and firmware's record of the boot tree. Both are immutable.
 */
export interface SharedBoot {
  readonly image?: BootImage;
  readonly firmwareRecord?: PartitionRecord;
}

/**
 * Boots an LPAR from a flattened tree in steps (K-NODE-3): unflatten, sysfs, cache; then the initcalls
 * that hold nodes, in initcall order: topology_init with each CPU's cacheinfo and rng_init (subsys),
 * then the vio devices and drivers. Each `yield` ends a bounded chunk of work; the caller decides
 * whether to let the event loop run there (Registry.createAsync does, Registry.create does not). The
 * model is the same either way: same dmesg, same addresses. Between steps the boot's per-node events
 * are folded away (boot is one event), so they never pile up.
 */
export function* bootLparSteps(
  config: LparConfig,
  system: ManagedSystem,
  fdt: FdtNode,
  shared: SharedBoot = {},
): Generator<void, Lpar, undefined> {
  const image = shared.image ?? new BootImage();
  const memoryGiB = config.treeOptions?.memoryGiB ?? memoryFromTree(fdt);
  const k = new Kernel(config.kernel, config.kernelOptions, config.identity.kernelSeed, config.maxDmesgLines);
  const of = ofStateInit(k);
  let dmesgLines = 0;
  const fold = () => {
    for (const e of k.events) if (e.type === 'dmesg') dmesgLines += 1;
    k.events = [];
  };
  function* folded<T>(steps: Generator<void, T, undefined>): Generator<void, T, undefined> {
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      fold();
      yield;
    }
  }
  k.printk('notice', `Linux version ${config.kernel.release} (lparsim@localhost) #1 SMP`);
  k.printk('info', 'Using pSeries machine description'); // E12: no system name
  const stats: BootStats = { nodes: 0, properties: 0, valueBytes: 0 };
  yield* folded(unflattenSteps(of, fdt, image, stats));
  // Firmware's record is a function of the boot tree and the memory size alone (firmware.ts), and it
  // points into the boot image: LPARs booted from one blob share it, as they share the image.
  const firmwareRecord =
    shared.firmwareRecord?.memoryGiB === memoryGiB && shared.image === image
      ? shared.firmwareRecord
      : yield* recordPartitionSteps(fdt, memoryGiB, image, cpusImageNodes(of.root));
  yield* folded(ofCoreInitSteps(of));
  // The initcalls, each in bounded steps too (a CPU, device or node count per step).
  const cpus = yield* folded(topologyInitSteps(of));
  const cacheinfo = cacheInfoNew();
  yield* folded(cacheinfoInitSteps(of, cacheinfo));
  yield* folded(rngInitSteps(of));
  const vio = yield* folded(vioBusInitSteps(of, config.kernelOptions.pfoDevices === 'fixed'));
  return new Lpar(config, system, { firmwareRecord, image, k, of, cpus, cacheinfo, vio, dmesgLines, stats });
}

/** bootLparSteps run to its end. */
export function bootLpar(config: LparConfig, system: ManagedSystem, fdt: FdtNode): Lpar {
  return completeSteps(bootLparSteps(config, system, fdt));
}

/**
 * For an uploaded tree: the memory `ibm,dynamic-memory` (a count of LMBs) or `ibm,dynamic-memory-v2`
 * (a count of sets, each with its number of LMBs) describes, in GiB (LMBs of 256 MiB).
 */
function memoryFromTree(fdt: FdtNode): number {
  const drconf = fdt.children.find((c) => c.name === 'ibm,dynamic-reconfiguration-memory');
  // v1 when the node has it, else v2, as drmem_init reads them.
  const v1 = drconf?.props.find((p) => p.name === 'ibm,dynamic-memory');
  const v2 = v1 ? undefined : drconf?.props.find((p) => p.name === 'ibm,dynamic-memory-v2');
  const lmbs = v1
    ? drmemLmbCount('ibm,dynamic-memory', v1.value)
    : v2 && (drmemLmbCount('ibm,dynamic-memory-v2', v2.value) ?? 0);
  if (lmbs === undefined) return 0;
  return Math.max(1, Math.floor(lmbs / 4));
}
