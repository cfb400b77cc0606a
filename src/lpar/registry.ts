// The LPARs and managed systems of one service instance, with the configured limits.

import {
  customKernel,
  DEFAULT_KERNEL_OPTIONS,
  KERNEL_NAMES,
  type KernelOptions,
  kernelProfile,
} from '../kernel/profiles.ts';
import { type FdtBlob, type FdtBootParams, FdtError, type FdtNode, fdtDecodeBlob } from '../of/fdt.ts';
import { BUILTIN_SYSTEMS, HOME_SYSTEM, type ManagedSystem } from '../pseries/systems.ts';
import {
  DEFAULT_TREE_OPTIONS,
  generateTree,
  type PhandleScheme,
  type TreeOptions,
  type TreeProfileName,
  treeProfile,
} from '../pseries/tree.ts';
import { badRequest, conflict, LparError, limitExceeded, notFound } from './errors.ts';
import { EventHub } from './events.ts';
import { Lpar } from './lpar.ts';
import type { PathLimits } from './views.ts';

export interface RegistryLimits {
  readonly maxLpars: number;
  readonly maxNodesPerLpar: number;
  readonly maxEventsPerLpar: number;
  readonly maxTreeDepth: number;
  readonly maxDmesgLines?: number;
  readonly maxMigrationsKept?: number;
  readonly pathLimits?: PathLimits;
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
}

/** Nodes a built-in tree will have, computed from the options before generating anything. */
export function estimateNodes(
  o: Pick<TreeOptions, 'cores' | 'extraVirtualAdapters' | 'pciAdapters'>,
): number {
  return 20 + o.cores * 3 + o.extraVirtualAdapters + o.pciAdapters * 3;
}

function countFdt(root: FdtNode): number {
  let n = 0;
  const stack = [root];
  while (stack.length) {
    const f = stack.pop()!;
    n += 1;
    stack.push(...f.children);
  }
  return n;
}

/** An uploaded blob, decoded within the limits; a blob that cannot be read is a 422 problem. */
function decodeDtb(dtb: Uint8Array, limits: RegistryLimits): FdtBlob {
  try {
    return fdtDecodeBlob(dtb, { maxNodes: limits.maxNodesPerLpar, maxDepth: limits.maxTreeDepth });
  } catch (e) {
    if (e instanceof FdtError) throw new LparError('unprocessable', 'Unreadable device tree blob', e.message);
    throw e;
  }
}

export class Registry {
  readonly lpars = new Map<string, Lpar>();
  readonly systems = new Map<string, ManagedSystem>(BUILTIN_SYSTEMS.map((s) => [s.name, s]));
  readonly limits: RegistryLimits;
  readonly events: EventHub;
  private readonly unsubscribers = new Map<string, () => void>();
  private nextId = 1;
  private readonly now: () => Date;

  constructor(limits: RegistryLimits, now: () => Date = () => new Date()) {
    this.limits = limits;
    this.now = now;
    this.events = new EventHub(limits.maxEventsPerLpar);
  }

  get(id: string): Lpar {
    const lpar = this.lpars.get(id);
    if (!lpar) throw notFound('LPAR', `no LPAR with id ${JSON.stringify(id)}`);
    return lpar;
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

  create(input: CreateLparInput): Lpar {
    if (this.lpars.size >= this.limits.maxLpars)
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
    const id = `lpar-${this.nextId}`;
    const name = input.name ?? id;
    for (const other of this.lpars.values())
      if (other.config.name === name)
        throw conflict(
          'LPAR name taken',
          `an LPAR named ${JSON.stringify(name)} exists (${other.config.id})`,
        );
    const o = input.options ?? {};
    const kernelOptions: KernelOptions = {
      refcountFull: o.refcountFull ?? DEFAULT_KERNEL_OPTIONS.refcountFull,
      kasan: o.kasan ?? DEFAULT_KERNEL_OPTIONS.kasan,
      dynamicDebug: o.dynamicDebug ?? DEFAULT_KERNEL_OPTIONS.dynamicDebug,
      pfoDevices: o.pfoDevices ?? DEFAULT_KERNEL_OPTIONS.pfoDevices,
      panicOnOops: o.panicOnOops ?? DEFAULT_KERNEL_OPTIONS.panicOnOops,
    };
    const seed = input.seed ?? 1;
    let fdt: FdtNode;
    let treeOptions: TreeOptions | null = null;
    let system: ManagedSystem;
    // An uploaded blob's /memreserve/ entries and boot CPU, kept so tree.dtb writes them back.
    let bootParams: FdtBootParams | undefined;
    if (input.dtb) {
      const blob = decodeDtb(input.dtb, this.limits);
      fdt = blob.root;
      bootParams = { reservations: blob.reservations, bootCpuidPhys: blob.bootCpuidPhys };
      system = this.system(input.system ?? 'p9-alpha');
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
      treeOptions = {
        ...DEFAULT_TREE_OPTIONS,
        cores: o.cores ?? DEFAULT_TREE_OPTIONS.cores,
        threadsPerCore: o.threadsPerCore ?? DEFAULT_TREE_OPTIONS.threadsPerCore,
        memoryGiB: o.memoryGiB ?? DEFAULT_TREE_OPTIONS.memoryGiB,
        extraVirtualAdapters: o.extraVirtualAdapters ?? DEFAULT_TREE_OPTIONS.extraVirtualAdapters,
        pciAdapters: o.pciAdapters ?? DEFAULT_TREE_OPTIONS.pciAdapters,
        platformFacilities: o.platformFacilities ?? DEFAULT_TREE_OPTIONS.platformFacilities,
        phandleScheme: input.phandleScheme ?? 'phyp',
        seed,
        partitionName: name,
        partitionNo: this.nextId,
      };
      const estimate = estimateNodes(treeOptions);
      if (estimate > this.limits.maxNodesPerLpar)
        throw limitExceeded(
          `these options give about ${estimate} nodes; at most ${this.limits.maxNodesPerLpar} per LPAR (LPARSIM_MAX_NODES_PER_LPAR)`,
        );
      fdt = generateTree(profile, system, treeOptions);
    }
    if (countFdt(fdt) > this.limits.maxNodesPerLpar)
      throw limitExceeded(`at most ${this.limits.maxNodesPerLpar} nodes per LPAR`);
    this.nextId += 1;
    const lpar = new Lpar(
      {
        id,
        name,
        profile: input.dtb ? 'dtb' : input.profile,
        kernel,
        phandleScheme: input.dtb ? null : (input.phandleScheme ?? 'phyp'),
        seed,
        kernelOptions,
        treeOptions,
        createdAt: this.now().toISOString(),
        maxEvents: this.limits.maxEventsPerLpar,
        maxDmesgLines: this.limits.maxDmesgLines ?? 100_000,
        maxMigrationsKept: this.limits.maxMigrationsKept ?? 1000,
        pathLimits: this.limits.pathLimits ?? { maxComponents: 64, maxComponentBytes: 255 },
        ...(bootParams ? { bootParams } : {}),
      },
      system,
      fdt,
    );
    this.lpars.set(id, lpar);
    for (const e of lpar.events.since(0)) this.events.publish(e);
    this.unsubscribers.set(
      id,
      lpar.events.subscribe((e) => this.events.publish(e)),
    );
    return lpar;
  }

  delete(id: string): void {
    this.get(id);
    const lpar = this.lpars.get(id)!;
    lpar.events.append([{ type: 'lpar.deleted', lpar: id }], lpar.k.clock.usec);
    this.unsubscribers.get(id)?.();
    this.unsubscribers.delete(id);
    lpar.events.close();
    this.lpars.delete(id);
  }
}
