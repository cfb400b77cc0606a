// The LPARs and managed systems of one service instance, with the configured limits and the memory
// budget.
//
// A create is checked whole before any work is done: the kernel, the profile and system, the node
// count (from the options for a built-in tree, from a scan of the blob's tokens for an upload), the
// depth, and the memory it will need against the budget. Then its id, name and a share of the LPAR
// limit and of the budget are reserved, so concurrent creates cannot overrun them, and the tree is
// generated or decoded and booted as step generators. `createAsync` lets the event loop run between
// steps (no more than SLICE_MS of work at a time); `create` runs them straight through. Either way the
// LPAR is the same, and it is not visible (not in `lpars`) until it has booted.

import { createHash } from 'node:crypto';
import { fnv1a } from '../kernel/hash.ts';
import {
  customKernel,
  DEFAULT_KERNEL_OPTIONS,
  KERNEL_NAMES,
  type KernelOptions,
  type KernelProfile,
  kernelProfile,
} from '../kernel/profiles.ts';
import {
  completeSteps,
  type FdtBootParams,
  FdtError,
  FdtLimitError,
  FdtNameError,
  type FdtNode,
  type FdtScan,
  fdtDecodeSteps,
  fdtScanSteps,
} from '../of/fdt.ts';
import { BootImage, type ImageCapacity } from '../of/image.ts';
import type { PartitionRecord } from '../pseries/firmware.ts';
import { BUILTIN_SYSTEMS, HOME_SYSTEM, type ManagedSystem } from '../pseries/systems.ts';
import {
  DEFAULT_TREE_OPTIONS,
  dynamicMemoryBytes,
  generateTreeSteps,
  type PhandleScheme,
  type TreeOptions,
  type TreeProfileName,
  treeNodeCount,
  treeProfile,
} from '../pseries/tree.ts';
import { badRequest, conflict, insufficientStorage, LparError, limitExceeded, notFound } from './errors.ts';
import { EventHub } from './events.ts';
import { LparHistory } from './history.ts';
import { bootLparSteps, type Lpar, type LparConfig, type LparIdentity } from './lpar.ts';
import type { PathLimits } from './views.ts';

export interface RegistryLimits {
  readonly maxLpars: number;
  readonly maxNodesPerLpar: number;
  readonly maxEventsPerLpar: number;
  readonly maxTreeDepth: number;
  readonly maxDmesgLines?: number;
  readonly maxMigrationsKept?: number;
  readonly pathLimits?: PathLimits;
  /** The memory budget in bytes (LPARSIM_MEMORY_BUDGET_MB); none: unlimited. */
  readonly memoryBudgetBytes?: number;
  /** Bytes of history kept per LPAR (LPARSIM_MAX_HISTORY_BYTES), bodies included. */
  readonly maxHistoryBytes?: number;
}

export interface CreateLparInput {
  readonly name?: string;
  readonly profile: TreeProfileName;
  readonly kernel: string;
  readonly phandleScheme?: PhandleScheme;
  readonly seed?: number;
  readonly system?: string;
  readonly options?: Partial<
    KernelOptions & Omit<TreeOptions, 'phandleScheme' | 'seed' | 'partitionName' | 'partitionNo'>
  >;
  /** A flattened tree to boot instead of a built-in profile. */
  readonly dtb?: Uint8Array;
  /** Overrides of the kernel profile's switches: a what-if kernel. */
  readonly switches?: Readonly<Record<string, unknown>>;
  /**
   * Boot as this identity (an imported history's): the tree's partition name and number, the kernel
   * seed and the creation time are its, while the id is new and the name is `name` or its name.
   */
  readonly identity?: LparIdentity;
  /** `dtb` is the caller's to give away (an HTTP body): the LPAR keeps it instead of a copy. */
  readonly dtbOwned?: boolean;
  /** With `identity`: take its id and name too (a replay in a registry of its own, journal/verify.ts). */
  readonly asRecorded?: boolean;
}

/**
 * What the memory budget charges, in bytes of V8 heap (heapUsed + arrayBuffers): the one place these
 * estimates live. An LPAR's nodes are charged to it; its boot image (of/image.ts: names, property
 * records and values) is charged once for all the LPARs that share it. Measured on this codebase with
 * `npm run bench` (bench/memory.ts, bench/results.json): a built-in 100k-node tree cost 981 B of heap
 * and buffers per node at 01c7ca3, image included; the constants below charge a built-in node about
 * 1,300 B (node, image node, 11 properties and their values), a third more, so that the budget errs
 * towards refusing rather than towards running out of heap. When the per-node layout (src/of, src/kernel)
 * changes, change `node` and `property` here and nothing else.
 */
export const MEMORY_COSTS = {
  /** A booted node, charged to its LPAR: device_node, kobject, sysfs directory, holders and ledger. */
  node: 896,
  /** A node in a boot image: its full name and property range. */
  imageNode: 64,
  /** One property in a boot image: its name index and value place (its sysfs file is virtual). */
  property: 24,
  /** One byte of property value. */
  valueByte: 1,
  /** Properties of an average built-in node (cpus and their l2/l3 caches, with links and phandles). */
  builtinPropertiesPerNode: 11,
  /** Value bytes of an average built-in node, besides ibm,dynamic-memory (charged by its size). */
  builtinValueBytesPerNode: 77,
  /** An LPAR whatever its size: kernel, OF state and its value arena, event log, initcall state. */
  lpar: 384 * 1024,
  /** While a create runs: each node of the flattened tree it boots from (freed when boot ends). */
  transientNode: 600,
  /** While a create runs: each property of that flattened tree. */
  transientProperty: 140,
  /** A node added after boot (ofdt add_node, a migration's re-adds), with a few properties and files. */
  addedNode: 896 + 4 * 200 + 64,
  /** A kept dmesg line, a kept event, a kept migration report (charged as they accumulate). */
  dmesgLine: 160,
  event: 160,
  migration: 8 * 1024,
} as const;

/** LPARSIM_MAX_HISTORY_BYTES's default: 64 MiB of requests per LPAR. */
export const DEFAULT_MAX_HISTORY_BYTES = 64 * 1024 * 1024;

/** Bytes of an uploaded blob copied per step of a create. */
const BLOB_COPY_STEP = 4 * 1024 * 1024;

/** Work an async create or export does before it lets the event loop run (milliseconds). */
export const SLICE_MS = 8;

/** Nodes a built-in tree will have, computed exactly from the options before generating anything. */
export function estimateNodes(
  o: Pick<TreeOptions, 'cores' | 'extraVirtualAdapters' | 'pciAdapters'> &
    Partial<Pick<TreeOptions, 'platformFacilities'>>,
): number {
  return treeNodeCount(o);
}

/** Bytes the boot image of a tree of `nodes` nodes, `properties` properties and `valueBytes` value bytes holds. */
export function imageBytes(nodes: number, properties: number, valueBytes: number): number {
  return (
    nodes * MEMORY_COSTS.imageNode + properties * MEMORY_COSTS.property + valueBytes * MEMORY_COSTS.valueByte
  );
}

/** Bytes a booted tree costs: its nodes, and its boot image unless that is shared already. */
export function treeBytes(nodes: number, properties: number, valueBytes: number): number {
  return nodes * MEMORY_COSTS.node + imageBytes(nodes, properties, valueBytes);
}

/** Bytes a built-in tree with these options will cost once booted (before any growth). */
export function builtinTreeBytes(o: TreeOptions): number {
  const nodes = estimateNodes(o);
  return (
    MEMORY_COSTS.lpar +
    treeBytes(
      nodes,
      nodes * MEMORY_COSTS.builtinPropertiesPerNode,
      nodes * MEMORY_COSTS.builtinValueBytesPerNode + dynamicMemoryBytes(o.memoryGiB),
    )
  );
}

/** Runs a step generator to its end, letting the event loop run every SLICE_MS of work. */
export async function runSliced<T>(steps: Generator<unknown, T, undefined>, sliceMs = SLICE_MS): Promise<T> {
  let start = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - start >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }
}

/**
 * The data chunks of a chunk generator (`null` marks work done without data), letting the event loop
 * run every SLICE_MS of work: what exports stream (Readable.from pulls only as the client reads).
 */
export async function* slicedChunks<C>(
  chunks: Generator<C | null, void, undefined>,
  sliceMs = SLICE_MS,
): AsyncGenerator<C, void, undefined> {
  let start = performance.now();
  for (const c of chunks) {
    if (c !== null) yield c;
    if (performance.now() - start >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }
}

/** The budget and its use, as /readyz and /metrics show them. */
export interface MemoryUse {
  /** The budget (LPARSIM_MEMORY_BUDGET_MB), or null when unlimited. */
  readonly budgetBytes: number | null;
  /** Charged to the LPARs held plus reserved by creates in progress. */
  readonly usedBytes: number;
  /** The part of `usedBytes` reserved by creates in progress. */
  readonly reservedBytes: number;
  /** Creates in progress (their LPARs are not visible yet). */
  readonly booting: number;
}

interface Reservation {
  readonly id: string;
  readonly name: string;
  readonly bytes: number;
}

/** A create, checked and ready to run: what it boots from and what it reserved. */
interface CreatePlan {
  readonly reservation: Reservation;
  readonly config: LparConfig;
  readonly system: ManagedSystem;
  readonly tree: () => Generator<void, FdtNode, undefined>;
  /** What the boot image will hold, as the checks estimated it (so it is allocated once). */
  readonly capacity: ImageCapacity;
  /** For an upload: the blob's digest, known once `tree` ran (LPARs of one blob share its boot image). */
  readonly blobKey: () => string | null;
  /** The uploaded blob the LPAR owns (its values are views into it), once the tree step made it. */
  readonly blob: () => Uint8Array | null;
  /** The request, kept with the LPAR (reboot, PUT). */
  readonly input: CreateLparInput;
  /** A reboot: the LPAR this one replaces under the same id and name once it has booted. */
  readonly replacing: Lpar | null;
}

const ID_PREFIX = 'lpar-';
const ID_SHAPE = /^lpar-[0-9]+$/;

/** Bytes of a blob hashed per step: a 60 MB upload is hashed in slices between which the loop runs. */
const HASH_BYTES_PER_STEP = 1 << 20;

/** SHA-256 of a blob, in steps (pure computation). */
function* blobDigestSteps(blob: Uint8Array): Generator<void, string, undefined> {
  const hash = createHash('sha256');
  for (let off = 0; off < blob.length; off += HASH_BYTES_PER_STEP) {
    hash.update(blob.subarray(off, off + HASH_BYTES_PER_STEP));
    yield;
  }
  return hash.digest('hex');
}

/** A boot image shared by the LPARs booted from one blob, and which LPARs those are. */
interface SharedImage {
  readonly image: BootImage;
  /** Firmware's record of the blob's tree (lpar.ts SharedBoot). */
  readonly firmwareRecord: PartitionRecord;
  /** The blob it was booted from (kept for reboots, once for all its LPARs). */
  readonly blob: Uint8Array;
  readonly users: Set<string>;
}

/**
 * An uploaded blob, checked within the limits, in steps; a blob that cannot be read, or that names a
 * node or property with a name no path component may have, is a 422 problem whose detail and `offset`
 * member say where in the blob; one beyond the node or depth limit a 413 naming it.
 */
function* scanDtbSteps(dtb: Uint8Array, limits: RegistryLimits): Generator<void, FdtScan, undefined> {
  try {
    return yield* fdtScanSteps(dtb, { maxNodes: limits.maxNodesPerLpar, maxDepth: limits.maxTreeDepth });
  } catch (e) {
    if (e instanceof FdtLimitError)
      throw limitExceeded(
        e.limit === 'nodes'
          ? `the blob has more than ${limits.maxNodesPerLpar} nodes; at most ${limits.maxNodesPerLpar} per LPAR (LPARSIM_MAX_NODES_PER_LPAR)`
          : `the blob nests deeper than ${limits.maxTreeDepth}; at most ${limits.maxTreeDepth} levels (LPARSIM_MAX_TREE_DEPTH)`,
      );
    if (e instanceof FdtError)
      throw new LparError(
        'unprocessable',
        e instanceof FdtNameError ? 'Unsafe name in device tree blob' : 'Unreadable device tree blob',
        e.message,
        e.offset === undefined ? {} : { offset: e.offset },
      );
    throw e;
  }
}

const MIB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

export class Registry {
  readonly lpars = new Map<string, Lpar>();
  readonly systems = new Map<string, ManagedSystem>(BUILTIN_SYSTEMS.map((s) => [s.name, s]));
  readonly limits: RegistryLimits;
  readonly events: EventHub;
  private readonly unsubscribers = new Map<string, () => void>();
  /** Creates in progress, by id: their names, a place under the LPAR limit and their bytes. */
  private readonly pending = new Map<string, Reservation>();
  /** Bytes of property values each LPAR grew by through ofdt writes (chargeGrowth). */
  private readonly grown = new Map<string, number>();
  /** Boot images of uploaded blobs by the blob's SHA-256, while an LPAR uses them. */
  private readonly images = new Map<string, SharedImage>();
  /** The blob digest of each LPAR that shares a boot image. */
  private readonly imageOf = new Map<string, string>();
  /** LPAR ids by name (URLs take either). */
  private readonly byName = new Map<string, string>();
  /** Each LPAR's creation request. */
  private readonly inputs = new Map<string, CreateLparInput>();
  /** Each LPAR's requests since its creation (lpar/history.ts), kept across reboots. */
  private readonly histories = new Map<string, LparHistory>();
  private nextId = 1;
  private readonly now: () => Date;

  constructor(limits: RegistryLimits, now: () => Date = () => new Date()) {
    this.limits = limits;
    this.now = now;
    this.events = new EventHub(limits.maxEventsPerLpar);
  }

  /** An LPAR by id or by name (ids and names never collide: `lpar-<n>` names only their own LPAR). */
  get(idOrName: string): Lpar {
    const lpar = this.lpars.get(idOrName) ?? this.lpars.get(this.byName.get(idOrName) ?? '');
    if (!lpar) throw notFound('LPAR', `no LPAR with id or name ${JSON.stringify(idOrName)}`);
    return lpar;
  }

  /** The LPAR called `name`, if one is (not by id). */
  byNameOrNull(name: string): Lpar | null {
    return this.lpars.get(this.byName.get(name) ?? '') ?? null;
  }

  /** The request an LPAR was created with (a reboot boots it again; PUT compares with it). */
  creationInput(idOrName: string): CreateLparInput {
    return this.inputs.get(this.get(idOrName).config.id)!;
  }

  /** What changed the LPAR since it was created, in order (recorded by the HTTP layer). */
  history(idOrName: string): LparHistory {
    return this.histories.get(this.get(idOrName).config.id)!;
  }

  system(name: string): ManagedSystem {
    const s = this.systems.get(name);
    if (!s) throw notFound('Managed system', `no managed system named ${JSON.stringify(name)}`);
    return s;
  }

  addSystem(system: ManagedSystem): ManagedSystem {
    if (this.systems.has(system.name))
      throw conflict('Managed system exists', `a managed system named ${JSON.stringify(system.name)} exists`);
    this.systems.set(system.name, system);
    return system;
  }

  // ---- memory ----

  /**
   * What an LPAR is charged now: its boot (what unflatten allocated), the nodes allocated since, the
   * property bytes ofdt writes added, and the dmesg lines, events and migration reports it keeps.
   * Measured from counts the model keeps anyway, so it costs nothing per node.
   */
  lparBytes(lpar: Lpar): number {
    const boot = lpar.bootStats;
    const c = lpar.config;
    const laterNodes = Math.max(0, lpar.of.nodes.size - boot.nodes);
    const dmesg = Math.min(lpar.k.log.last, 2 * c.maxDmesgLines);
    const events = Math.min(lpar.events.lastId, 2 * c.maxEvents);
    return (
      MEMORY_COSTS.lpar +
      boot.nodes * MEMORY_COSTS.node +
      laterNodes * MEMORY_COSTS.addedNode +
      (this.grown.get(c.id) ?? 0) * MEMORY_COSTS.valueByte +
      dmesg * MEMORY_COSTS.dmesgLine +
      events * MEMORY_COSTS.event +
      lpar.migrations.length * MEMORY_COSTS.migration +
      (this.histories.get(c.id)?.bytes ?? 0)
    );
  }

  memory(): MemoryUse {
    let reserved = 0;
    for (const r of this.pending.values()) reserved += r.bytes;
    let used = reserved;
    // Each boot image once, however many LPARs share it.
    const images = new Set<BootImage>();
    for (const lpar of this.lpars.values()) {
      used += this.lparBytes(lpar);
      if (images.has(lpar.bootImage)) continue;
      images.add(lpar.bootImage);
      const b = lpar.bootStats;
      used += imageBytes(b.nodes, b.properties, b.valueBytes);
    }
    return {
      budgetBytes: this.limits.memoryBudgetBytes ?? null,
      usedBytes: used,
      reservedBytes: reserved,
      booting: this.pending.size,
    };
  }

  /** Refuses with 507 (changing nothing) when `bytes` more would not fit in the budget. */
  assertMemoryFor(bytes: number, what: string): void {
    const budget = this.limits.memoryBudgetBytes;
    if (budget === undefined) return;
    const { usedBytes } = this.memory();
    if (usedBytes + bytes > budget)
      throw insufficientStorage(
        `${what} needs about ${mib(bytes)}; ${mib(usedBytes)} of the ${mib(budget)} memory budget is in use (LPARSIM_MEMORY_BUDGET_MB)`,
        { neededBytes: Math.ceil(bytes), usedBytes: Math.ceil(usedBytes), budgetBytes: budget },
      );
  }

  /** Bytes of property values an LPAR kept from a write (an ofdt command's bytes, at most). */
  chargeGrowth(lpar: Lpar, bytes: number): void {
    const id = lpar.config.id;
    if (this.lpars.get(id) !== lpar) return;
    this.grown.set(id, (this.grown.get(id) ?? 0) + bytes);
  }

  // ---- creation ----

  /** Creates (boots) an LPAR, all at once. */
  create(input: CreateLparInput): Lpar {
    const scan = input.dtb ? completeSteps(scanDtbSteps(input.dtb, this.limits)) : null;
    const plan = this.plan(input, scan);
    return completeSteps(this.build(plan));
  }

  /**
   * Creates (boots) an LPAR in slices of SLICE_MS, so other requests are served meanwhile: an upload's
   * scan, then (every check passed, the reservation made) the tree and the boot.
   */
  async createAsync(input: CreateLparInput): Promise<Lpar> {
    let scan: FdtScan | null = null;
    if (input.dtb) {
      this.check(input); // what is refused without reading the blob is refused first
      scan = await runSliced(scanDtbSteps(input.dtb, this.limits));
    }
    const plan = this.plan(input, scan);
    return runSliced(this.build(plan));
  }

  /** The checks that need nothing but the request: the LPAR limit, the kernel, the name. */
  private check(
    input: CreateLparInput,
    replacing: Lpar | null = null,
  ): {
    kernel: KernelProfile;
    id: string;
    name: string;
    partitionNo: number;
  } {
    if (!replacing && this.lpars.size + this.pending.size >= this.limits.maxLpars)
      throw limitExceeded(`at most ${this.limits.maxLpars} LPARs (LPARSIM_MAX_LPARS)`);
    const base = kernelProfile(input.kernel);
    if (!base)
      throw badRequest(
        'Unknown kernel profile',
        `kernel ${JSON.stringify(input.kernel)} is not one of ${KERNEL_NAMES.join(', ')}`,
      );
    // A what-if kernel: the base profile with some switches overridden (docs/kernel-model.md).
    const kernel = customKernel(base, input.switches ?? {});
    if (typeof kernel === 'string') throw badRequest('Bad kernel switch', kernel);
    const born = input.identity;
    const recorded = born !== undefined && input.asRecorded === true;
    const number = replacing ? Number(replacing.config.id.slice(ID_PREFIX.length)) : this.nextId;
    const partitionNo = born?.partitionNo ?? number;
    const id = recorded ? born.id : `${ID_PREFIX}${number}`;
    const name = replacing ? replacing.config.name : recorded ? born.name : (input.name ?? born?.name ?? id);
    if (recorded && !replacing && (this.lpars.has(id) || this.pending.has(id)))
      throw conflict('LPAR id taken', `${id} exists here; a replay as recorded needs a registry of its own`);
    // An id-shaped name would shadow that LPAR in URLs, which take an id or a name.
    if (name !== id && ID_SHAPE.test(name))
      throw badRequest(
        'Reserved LPAR name',
        `${JSON.stringify(name)} is the form of an LPAR id (lpar-<n>); choose another name`,
      );
    const other = this.byNameOrNull(name);
    if (other && other !== replacing)
      throw conflict('LPAR name taken', `an LPAR named ${JSON.stringify(name)} exists (${other.config.id})`);
    for (const other of this.pending.values())
      if (other.name === name)
        throw conflict(
          'LPAR name taken',
          `an LPAR named ${JSON.stringify(name)} is being created (${other.id})`,
        );
    return { kernel, id, name, partitionNo };
  }

  /**
   * Every check a create makes before doing any work (an upload's scan is done by the caller), then
   * its reservation. Throws on refusal, having changed nothing.
   */
  private plan(input: CreateLparInput, scan: FdtScan | null, replacing: Lpar | null = null): CreatePlan {
    const { kernel, id, name, partitionNo } = this.check(input, replacing);
    const born = input.identity;
    const o = input.options ?? {};
    const kernelOptions: KernelOptions = {
      refcountFull: o.refcountFull ?? DEFAULT_KERNEL_OPTIONS.refcountFull,
      kasan: o.kasan ?? DEFAULT_KERNEL_OPTIONS.kasan,
      slubDebug: o.slubDebug ?? DEFAULT_KERNEL_OPTIONS.slubDebug,
      dynamicDebug: o.dynamicDebug ?? DEFAULT_KERNEL_OPTIONS.dynamicDebug,
      pfoDevices: o.pfoDevices ?? DEFAULT_KERNEL_OPTIONS.pfoDevices,
      panicOnOops: o.panicOnOops ?? DEFAULT_KERNEL_OPTIONS.panicOnOops,
    };
    const seed = input.seed ?? 1;
    let tree: () => Generator<void, FdtNode, undefined>;
    let treeOptions: TreeOptions | null = null;
    let system: ManagedSystem;
    let bytes: number;
    let what: string;
    let blob: Uint8Array | null = null;
    let blobKey: string | null = null;
    let capacity: ImageCapacity;
    // An uploaded blob's /memreserve/ entries and boot CPU, kept so tree.dtb writes them back.
    let bootParams: FdtBootParams | undefined;
    if (input.dtb && scan) {
      const source = input.dtb;
      bootParams = { reservations: scan.reservations, bootCpuidPhys: scan.bootCpuidPhys };
      // E13 may append a `name` to every node: room for one of a few bytes each.
      capacity = {
        nodes: scan.nodes,
        properties: scan.properties + scan.nodes,
        valueBytes: scan.valueBytes + scan.nodes * 8,
      };
      system = this.system(input.system ?? 'p9-alpha');
      // E13: a node without `name` gets one at boot; charged as if every node lacked it.
      bytes =
        MEMORY_COSTS.lpar +
        treeBytes(scan.nodes, scan.properties + scan.nodes, scan.valueBytes + scan.nodes * 16) +
        source.length +
        scan.nodes * MEMORY_COSTS.transientNode +
        scan.properties * MEMORY_COSTS.transientProperty;
      what = `a ${scan.nodes}-node tree from a ${source.length}-byte blob`;
      const limits = { maxNodes: this.limits.maxNodesPerLpar, maxDepth: this.limits.maxTreeDepth };
      // The LPAR owns its blob, so its property values can be views into it (fdt.ts); the scan has
      // checked everything the decode checks. A buffer the caller hands over (an HTTP body) is taken
      // as it is; any other is copied, a slice at a time, so a 60 MB blob is not one long step.
      const own =
        input.dtbOwned === true && source.byteOffset === 0 && source.byteLength === source.buffer.byteLength;
      tree = function* () {
        if (own) blob = source;
        else {
          const copy = new Uint8Array(source.length);
          for (let at = 0; at < source.length; at += BLOB_COPY_STEP) {
            copy.set(source.subarray(at, at + BLOB_COPY_STEP), at);
            yield;
          }
          blob = copy;
        }
        blobKey = yield* blobDigestSteps(blob!);
        return (yield* fdtDecodeSteps(blob!, limits, { shareValues: true })).root;
      };
    } else {
      const profile = treeProfile(input.profile);
      if (!profile)
        throw badRequest(
          'Unknown tree profile',
          `profile ${JSON.stringify(input.profile)} is not power9 or power10`,
        );
      system = this.system(input.system ?? HOME_SYSTEM[profile.processor]);
      if (system.processor !== profile.processor)
        throw badRequest(
          'Wrong managed system',
          `${system.name} is a ${system.processor} server; a ${profile.name} LPAR needs ${profile.processor}`,
        );
      const options: TreeOptions = {
        ...DEFAULT_TREE_OPTIONS,
        cores: o.cores ?? DEFAULT_TREE_OPTIONS.cores,
        threadsPerCore: o.threadsPerCore ?? DEFAULT_TREE_OPTIONS.threadsPerCore,
        memoryGiB: o.memoryGiB ?? DEFAULT_TREE_OPTIONS.memoryGiB,
        extraVirtualAdapters: o.extraVirtualAdapters ?? DEFAULT_TREE_OPTIONS.extraVirtualAdapters,
        pciAdapters: o.pciAdapters ?? DEFAULT_TREE_OPTIONS.pciAdapters,
        platformFacilities: o.platformFacilities ?? DEFAULT_TREE_OPTIONS.platformFacilities,
        spareCores: o.spareCores ?? 0,
        spareMemoryGiB: o.spareMemoryGiB ?? 0,
        phandleScheme: input.phandleScheme ?? 'phyp',
        seed,
        partitionName: born?.name ?? name,
        partitionNo,
      };
      treeOptions = options;
      const nodes = estimateNodes(options);
      capacity = {
        nodes,
        properties: nodes * MEMORY_COSTS.builtinPropertiesPerNode,
        // Spare connectors: the unassigned LMBs, and a drc index per core in /cpus.
        valueBytes:
          nodes * MEMORY_COSTS.builtinValueBytesPerNode +
          dynamicMemoryBytes(options.memoryGiB, options.spareMemoryGiB) +
          (options.spareCores ? 4 * (options.cores + options.spareCores) : 0),
      };
      if (nodes > this.limits.maxNodesPerLpar)
        throw limitExceeded(
          `these options give ${nodes} nodes; at most ${this.limits.maxNodesPerLpar} per LPAR (LPARSIM_MAX_NODES_PER_LPAR)`,
        );
      bytes =
        builtinTreeBytes(options) +
        nodes *
          (MEMORY_COSTS.transientNode +
            MEMORY_COSTS.builtinPropertiesPerNode * MEMORY_COSTS.transientProperty);
      what = `a ${nodes}-node ${profile.name} tree`;
      tree = () => generateTreeSteps(profile, system, options);
    }
    this.assertMemoryFor(bytes, `creating ${what}`);
    // Reserved from here: the id, the name, a place under LPARSIM_MAX_LPARS and the bytes.
    const reservation: Reservation = { id, name, bytes };
    this.pending.set(id, reservation);
    if (!replacing && !input.asRecorded) this.nextId += 1;
    const createdAt = born?.createdAt || this.now().toISOString();
    const identity: LparIdentity = {
      id: born?.id ?? id,
      name: born?.name ?? name,
      partitionNo,
      kernelSeed: born?.kernelSeed ?? seed ^ fnv1a(id),
      createdAt,
    };
    const config: LparConfig = {
      id,
      identity,
      name,
      profile: input.dtb ? 'dtb' : input.profile,
      kernel,
      phandleScheme: input.dtb ? null : (input.phandleScheme ?? 'phyp'),
      seed,
      kernelOptions,
      treeOptions,
      createdAt,
      maxEvents: this.limits.maxEventsPerLpar,
      maxDmesgLines: this.limits.maxDmesgLines ?? 100_000,
      maxMigrationsKept: this.limits.maxMigrationsKept ?? 1000,
      pathLimits: this.limits.pathLimits ?? { maxComponents: 64, maxComponentBytes: 255 },
      ...(bootParams ? { bootParams } : {}),
    };
    return {
      reservation,
      config,
      system,
      tree,
      capacity,
      blobKey: () => blobKey,
      blob: () => blob,
      input,
      replacing,
    };
  }

  /** Generates or decodes the tree, boots it, and makes the LPAR visible; a failure gives back the reservation. */
  private *build(plan: CreatePlan): Generator<void, Lpar, undefined> {
    const { reservation, config, system } = plan;
    let lpar: Lpar;
    try {
      const fdt = yield* plan.tree();
      const key = plan.blobKey();
      const known = key ? this.images.get(key) : undefined;
      lpar = yield* bootLparSteps(config, system, fdt, {
        image: known?.image ?? new BootImage(plan.capacity),
        ...(known ? { firmwareRecord: known.firmwareRecord } : {}),
      });
      // A reboot's old model goes first, so that its share of the image passes to the new one.
      if (plan.replacing) this.retire(plan.replacing, { type: 'lpar.rebooted', lpar: config.id });
      const shared = key ? this.images.get(key) : undefined;
      if (key && !shared)
        this.images.set(key, {
          image: lpar.bootImage,
          firmwareRecord: lpar.firmwareRecord,
          blob: plan.blob()!,
          users: new Set([config.id]),
        });
      else if (shared?.image === lpar.bootImage) shared.users.add(config.id);
      if (key && this.images.get(key)?.image === lpar.bootImage) this.imageOf.set(config.id, key);
    } catch (e) {
      this.pending.delete(reservation.id);
      // The id goes back when no later create took one (a refused create changes nothing).
      if (
        !plan.replacing &&
        !plan.input.asRecorded &&
        this.nextId === Number(reservation.id.slice(ID_PREFIX.length)) + 1
      )
        this.nextId -= 1;
      throw e;
    }
    this.pending.delete(reservation.id);
    const id = config.id;
    this.lpars.set(id, lpar);
    this.byName.set(config.name, id);
    // An uploaded blob is kept once for all the LPARs that share its image.
    const blob = this.images.get(this.imageOf.get(id) ?? '')?.blob;
    // A reboot keeps the request the LPAR was created by (PUT compares with it, a history starts from it).
    if (!plan.replacing) {
      this.inputs.set(id, blob && plan.input.dtb ? { ...plan.input, dtb: blob } : plan.input);
      this.histories.set(id, new LparHistory(this.limits.maxHistoryBytes ?? DEFAULT_MAX_HISTORY_BYTES));
    }
    for (const e of lpar.events.since(0)) this.events.publish(e);
    this.unsubscribers.set(
      id,
      lpar.events.subscribe((e) => this.events.publish(e)),
    );
    return lpar;
  }

  /**
   * Boots the LPAR's tree again on its kernel, on the system it runs on now: a new model, same id and
   * name. In slices of SLICE_MS, as createAsync.
   */
  async rebootAsync(idOrName: string): Promise<Lpar> {
    const old = this.get(idOrName);
    // The same identity, booted now: the reboot's own time.
    const input: CreateLparInput = {
      ...this.creationInput(old.config.id),
      system: old.system.name,
      identity: { ...old.config.identity, createdAt: '' },
    };
    const scan = input.dtb ? await runSliced(scanDtbSteps(input.dtb, this.limits)) : null;
    return runSliced(this.build(this.plan(input, scan, old)));
  }

  delete(idOrName: string): void {
    const lpar = this.get(idOrName);
    this.retire(lpar, { type: 'lpar.deleted', lpar: lpar.config.id });
  }

  /** Every LPAR (those still booting finish and stay). */
  deleteAll(): number {
    const ids = [...this.lpars.keys()];
    for (const id of ids) this.delete(id);
    return ids.length;
  }

  /** The LPAR leaves the registry: its last event, its streams end, its share of a boot image goes. */
  private retire(lpar: Lpar, last: { type: 'lpar.deleted' | 'lpar.rebooted'; lpar: string }): void {
    const id = lpar.config.id;
    lpar.events.append([last], lpar.k.clock.usec);
    this.unsubscribers.get(id)?.();
    this.unsubscribers.delete(id);
    lpar.events.close();
    this.lpars.delete(id);
    this.byName.delete(lpar.config.name);
    if (last.type === 'lpar.deleted') {
      this.inputs.delete(id);
      this.histories.delete(id);
    }
    this.grown.delete(id);
    const key = this.imageOf.get(id);
    this.imageOf.delete(id);
    const shared = key ? this.images.get(key) : undefined;
    if (key && shared) {
      shared.users.delete(id);
      if (shared.users.size === 0) this.images.delete(key);
    }
  }
}
