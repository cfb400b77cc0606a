import { Type } from '@sinclair/typebox';
import { KERNEL_NAMES, type SwitchName } from '../../kernel/profiles.ts';
import { PLATFORM_FACILITIES } from '../../pseries/tree.ts';
import { Closed, Items, Ref, StringEnum } from './common.ts';

export const KernelName = StringEnum(KERNEL_NAMES);

export const LparOptions = Type.Object(
  {
    refcountFull: Type.Optional(Type.Boolean({ description: 'K-REF-4: 4.x CONFIG_REFCOUNT_FULL' })),
    kasan: Type.Optional(
      Type.Boolean({
        description:
          'A what-if (E2): print KASAN reports, as a build with KASAN would; 64-bit powerpc had no KASAN up to 5.16, and from 6.1 only on the radix MMU, which PowerVM LPARs do not run, so the default is false. Use-after-free is counted and reported by the API either way.',
      }),
    ),
    slubDebug: Type.Optional(
      Type.Boolean({
        description:
          'K-UAF-3: boot with slub_debug (FZPU), as any real kernel of these releases could: freed nodes are poisoned, and a write through a stale pointer is reported (`Poison overwritten`) when SLUB next hands that object out (default false)',
      }),
    ),
    panicOnOops: Type.Optional(
      Type.Boolean({
        description:
          'E7: an oops panics the partition (panic_on_oops); it then refuses kernel operations until deleted (default false)',
      }),
    ),
    dynamicDebug: Type.Optional(Type.Boolean({ description: 'K-MOB-8: pr_debug lines reach dmesg' })),
    pfoDevices: Type.Optional(
      Type.Union([Type.Literal('kernel'), Type.Literal('fixed')], { description: 'K-DRV-4' }),
    ),
    cores: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    threadsPerCore: Type.Optional(
      Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(4), Type.Literal(8)], {
        description: 'SMT mode (default 8)',
      }),
    ),
    memoryGiB: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 8192,
        description: 'in 256 MiB LMBs in ibm,dynamic-memory (default 32)',
      }),
    ),
    extraVirtualAdapters: Type.Optional(Type.Integer({ minimum: 0, maximum: 4096 })),
    pciAdapters: Type.Optional(Type.Integer({ minimum: 0, maximum: 4096 })),
    platformFacilities: Type.Optional(
      Type.Array(StringEnum(PLATFORM_FACILITIES), { uniqueItems: true, maxItems: 3 }),
    ),
    spareCores: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100_000,
        description:
          'cores the partition may gain by DLPAR beyond `cores` (its maximum processors): /cpus then lists every connector (ibm,drc-indexes) and /rtas the maximum (ibm,lrdr-capacity); 0 (the default) leaves the tree as without them',
      }),
    ),
    spareMemoryGiB: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 8192,
        description:
          'memory the partition may gain by DLPAR: unassigned 256 MiB LMBs after the assigned ones in ibm,dynamic-memory (default 0)',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Overrides of the kernel profile's switches (docs/kernel-model.md): a what-if kernel. */
export const KernelSwitchOverrides = Type.Object(
  {
    phandleCache: Type.Optional(StringEnum(['none', 'pow2', 'pow2-refs', 'hash128'] as const)),
    sysfsHoldsRef: Type.Optional(Type.Boolean()),
    sysfsRefBeforeAdd: Type.Optional(Type.Boolean()),
    dlparDetachPut: Type.Optional(Type.Boolean()),
    refcount: Type.Optional(StringEnum(['plain', 'checked'] as const)),
    mobilityLookup: Type.Optional(StringEnum(['per-op', 'central'] as const)),
    skipPlatformFacilities: Type.Optional(Type.Boolean()),
    pofTakesRefs: Type.Optional(Type.Boolean()),
    cacheinfoRebuild: Type.Optional(Type.Boolean()),
    rngInitPut: Type.Optional(Type.Boolean()),
    parentPutAfterRelease: Type.Optional(Type.Boolean()),
    cutHereAlways: Type.Optional(Type.Boolean()),
    suspendInKernel: Type.Optional(Type.Boolean()),
    mobilityPrFmt: Type.Optional(Type.Boolean()),
    waitMemoryTransfer: Type.Optional(Type.Boolean()),
    pofSkipsSelf: Type.Optional(Type.Boolean()),
    detachSysfsInCore: Type.Optional(Type.Boolean()),
    prrnEvents: Type.Optional(StringEnum(['update', 'disabled', 'ignored'] as const)),
  } satisfies Record<SwitchName, unknown>,
  {
    additionalProperties: false,
    description:
      'Override any switch of the chosen kernel profile, e.g. {"phandleCache":"pow2-refs"} on 4.18 for "4.18 with 5.0\'s eviction". The LPAR document then shows the kernel as custom, with its base and overrides.',
  },
);

export const CreateLparBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' })),
    profile: Type.Optional(
      Type.Union([Type.Literal('power9'), Type.Literal('power10')], { default: 'power9' }),
    ),
    kernel: KernelName,
    phandleScheme: Type.Optional(Type.Union([Type.Literal('phyp'), Type.Literal('dtc')])),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    system: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    options: Type.Optional(LparOptions),
    switches: Type.Optional(KernelSwitchOverrides),
    dtb: Type.Optional(
      Type.String({
        contentEncoding: 'base64',
        description: 'boot this flattened tree (base64) instead of a built-in profile',
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * An LPAR's counts: its nodes by state, the stale cache entries, and what the kernel counted since
 * boot. A migration report carries the same document twice: the counts after it, and what it changed.
 */
export const Counts = Closed(
  {
    nodes: Type.Integer({ description: 'every node ever allocated (the states below add up to it)' }),
    attached: Type.Integer(),
    detached: Type.Integer(),
    released: Type.Integer(),
    freed: Type.Integer(),
    orphaned: Type.Integer({ description: 'nodes allocated, never attached and not freed (leaked)' }),
    staleCacheEntries: Type.Integer({
      description: 'phandle-cache slots naming a node that is not attached',
    }),
    useAfterFree: Type.Integer({ description: 'use-after-free hits (K-UAF)' }),
    sysfsRenames: Type.Integer({ description: 'sysfs directories safe_name renamed' }),
    warnings: Type.Integer({ description: 'WARNING blocks printed' }),
    unbalancedPuts: Type.Integer({ description: 'puts by a holder that held nothing (K-REF-1)' }),
  },
  { $id: 'Counts', description: 'nodes by state, stale cache entries, and what the kernel counted' },
);

/** Every switch of a kernel as it runs (docs/kernel-model.md). */
export const KernelSwitches = Type.Required(KernelSwitchOverrides, {
  additionalProperties: false,
  description: 'every switch as this kernel runs it',
});

/** The options an LPAR runs with: the kernel's always, the tree's when it booted a built-in profile. */
const LparOptionsDoc = Closed(
  {
    refcountFull: Type.Boolean(),
    kasan: Type.Boolean(),
    slubDebug: Type.Boolean(),
    dynamicDebug: Type.Boolean(),
    pfoDevices: StringEnum(['kernel', 'fixed'] as const),
    panicOnOops: Type.Boolean(),
    cores: LparOptions.properties.cores,
    threadsPerCore: LparOptions.properties.threadsPerCore,
    memoryGiB: LparOptions.properties.memoryGiB,
    extraVirtualAdapters: LparOptions.properties.extraVirtualAdapters,
    pciAdapters: LparOptions.properties.pciAdapters,
    platformFacilities: LparOptions.properties.platformFacilities,
    spareCores: LparOptions.properties.spareCores,
    spareMemoryGiB: LparOptions.properties.spareMemoryGiB,
  },
  { description: 'kernel options, and the tree options of a built-in profile (absent for an uploaded tree)' },
);

export const LparDoc = Closed(
  {
    id: Type.String(),
    name: Type.String(),
    profile: Type.String({ description: 'the tree profile (power9, power10), or dtb for an uploaded tree' }),
    kernel: Type.String({ description: 'the base kernel profile (see kernelProfile.custom)' }),
    kernelProfile: Closed({
      base: Type.String(),
      release: Type.String({ description: 'uname -r of the simulated build' }),
      custom: Type.Boolean({ description: 'a what-if kernel: some switches differ from the base profile' }),
      overrides: KernelSwitchOverrides,
      switches: KernelSwitches,
    }),
    system: Type.String(),
    phandleScheme: Type.Union([Type.String(), Type.Null()]),
    seed: Type.Integer(),
    options: LparOptionsDoc,
    whatIf: Type.Array(Type.String(), {
      description:
        'what in this configuration no real kernel of the profile did (kasan, switch overrides, pfoDevices fixed)',
    }),
    health: Closed({
      taint: Type.String({ description: 'print_tainted(): "Not tainted" or "Tainted: G …"' }),
      oopses: Type.Integer(),
      panicked: Type.Boolean({ description: 'panicOnOops fired: kernel actions answer 409' }),
    }),
    createdAt: Type.String(),
    counts: Ref(Counts),
    nodes: Type.Integer({ deprecated: true, description: 'deprecated: counts.nodes' }),
  },
  { $id: 'Lpar', description: 'An LPAR: its configuration, health and counts' },
);

export const LparList = Items(Ref(LparDoc), { $id: 'LparList' });

export const DeletedLpars = Closed(
  { deleted: Type.Integer({ minimum: 0 }) },
  { $id: 'DeletedLpars', description: 'how many LPARs DELETE /v1/lpars removed' },
);

/** A kernel profile as GET /v1/profiles lists it: its switches and the facts of its build. */
export const KernelProfileDoc = Closed(
  {
    name: KernelName,
    ...KernelSwitches.properties,
    release: Type.String({ description: 'uname -r of the simulated build' }),
    taintFlags: Type.Integer({ description: 'taint flags print_tainted knows' }),
    dieBannerPageSize: Type.Boolean({ description: "die()'s platform line shows PAGE_SIZE and MMU" }),
    panicEndClosed: Type.Boolean({ description: "panic()'s end line is closed with ]---" }),
    traceIdZero: Type.Boolean({
      description: 'the end-of-trace line carries id 0, not the boot’s random one (6.1+)',
    }),
    cpuLineUid: Type.Boolean({ description: 'the CPU line of a stack dump shows `UID: <uid>` (6.12)' }),
    kasanRadixOnly: Type.Boolean({
      description:
        '64-bit powerpc builds KASAN, for the radix MMU only (6.1+; the kasan what-if note, note 51)',
    }),
    functionNames: Type.Record(Type.String(), Type.String(), {
      description: 'functions this release calls by another name',
    }),
    warnLines: Type.Record(Type.String(), Type.String(), {
      description: 'file:line of each WARN site, by the function that contains it',
    }),
    kobjOffset: Type.Integer({ description: 'offsetof(struct device_node, kobj) in this build' }),
    faultMessages: StringEnum(['paging-request', 'bug', 'bug-access'] as const),
    dlpar: Closed(
      {
        cpuDrcListSkipsCount: Type.Boolean({
          description:
            'valid_cpu_drc_index and the add-by-count search skip the count cell of /cpus ibm,drc-indexes (5.4+)',
        }),
        cpuRemoveLastCheck: Type.Boolean({
          description:
            'dlpar_offline_cpu refuses the last online CPU itself, and a failed remove by index unisolates the connector (5.14+)',
        }),
        cpuCacheNodes: Type.Boolean({
          description:
            "a cpu add attaches the l2/l3 siblings configure-connector returns and a remove detaches the unused ones, by changeset (6.1+); before, a new core's caches are never attached",
        }),
        lmbRemovable: StringEnum(['sections', 'assigned', 'unreserved'] as const, {
          description:
            'lmb_is_removable: sections also asks is_mem_section_removable (to 5.4); assigned checks the flag only (5.8, 5.10); unreserved also refuses DRCONF_MEM_RESERVED (5.14+)',
        }),
        memoryQuietIndex: Type.Boolean({
          description:
            'the memory remove-by-index lines and the add-by-count success line are pr_debug (5.14+)',
        }),
        drmemFollowsUpdates: Type.Boolean({
          description:
            'the memory notifier re-reads the LMB table from an update of ibm,dynamic-memory (drmem_update_lmbs, 5.16+)',
        }),
      },
      {
        description:
          "what the release's /sys/kernel/dlpar code does (docs/kernel-model.md K-DLPAR-4): facts of the build, not switches",
      },
    ),
    slot: Closed(
      {
        putsNodes: Type.Boolean({
          description:
            "rpadlpar's find_vio_slot_node puts its /vdevice reference and dlpar_add_slot/dlpar_remove_slot put the node they found (5.4+, fb26228bfc4c); before, both leak on every write",
        }),
        drcInfo: Type.Boolean({
          description:
            "rpaphp_check_drc_props reads the parent's ibm,drc-info when it has one (5.8+); before, the v1 lists only (note 53)",
        }),
        vioReadsTypes: Type.Boolean({
          description:
            'vio_register_device_node reads the device_type properties of the node and its parent (5.0+), refusing a /vdevice child without one; 4.x reads the types cached when the nodes were made and never refuses',
        }),
        nodeNameFromFullName: Type.Boolean({
          description:
            "of_find_node_by_name and %pOFn take a node's name from its full name up to the @, compared exactly (5.0+); before, the name property, case-insensitively",
        }),
      },
      {
        description:
          "what the release's rpadlpar, rpaphp and vio code does for I/O slots (docs/kernel-model.md K-SLOT): facts of the build, not switches",
      },
    ),
    origin: Type.String({ description: 'what each switch value is named after' }),
    overrides: Type.Union([KernelSwitchOverrides, Type.Null()], {
      description: 'null: a built-in profile overrides nothing',
    }),
  },
  { $id: 'KernelProfile' },
);

export const TreeProfileDoc = Closed(
  {
    name: Type.String(),
    processor: Type.String(),
    cpuNodeName: Type.String(),
    pvr: Type.Integer(),
    clockFrequency: Type.Integer(),
  },
  { $id: 'TreeProfile' },
);

export const ProfilesDoc = Closed(
  {
    kernelProfiles: Type.Array(Ref(KernelProfileDoc), { description: 'what `kernel` names' }),
    treeProfiles: Type.Array(Ref(TreeProfileDoc), { description: 'what `profile` names' }),
    items: Type.Array(Ref(KernelProfileDoc), { deprecated: true, description: 'deprecated: kernelProfiles' }),
  },
  { $id: 'Profiles', description: 'Kernel profiles and tree profiles' },
);

export const SystemDoc = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    processor: Type.Union([Type.Literal('POWER9'), Type.Literal('POWER10')]),
    machineType: Type.String({ pattern: '^[0-9A-Z]{4}-[0-9A-Z]{3}$' }),
    serial: Type.String({ pattern: '^[0-9A-F]{7}$' }),
    sharedInterruptPool: Type.Integer({ minimum: 0, maximum: 0xffffffff }),
    resourceIdBase: Type.Integer({ minimum: 0, maximum: 0xfff00000 }),
    memoryAssociativityIndex: Type.Integer({ minimum: 0, maximum: 1024 }),
    readdCacheNodes: Type.Boolean(),
    builtin: Type.Boolean(),
  },
  { $id: 'System', additionalProperties: false },
);

export const SystemList = Items(Ref(SystemDoc), { $id: 'SystemList' });

export const CreateSystemBody = Type.Object(
  {
    name: SystemDoc.properties.name,
    processor: SystemDoc.properties.processor,
    machineType: Type.Optional(SystemDoc.properties.machineType),
    serial: SystemDoc.properties.serial,
    sharedInterruptPool: Type.Optional(SystemDoc.properties.sharedInterruptPool),
    resourceIdBase: Type.Optional(SystemDoc.properties.resourceIdBase),
    memoryAssociativityIndex: Type.Optional(SystemDoc.properties.memoryAssociativityIndex),
    readdCacheNodes: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
