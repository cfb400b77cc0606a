// Kernel profiles as data: the switch table of docs/kernel-model.md. Behaviour elsewhere reads these
// switches; nothing compares version numbers. A profile is a named set of switches plus the facts of
// that release's build (its source lines and symbol sizes, for messages); an LPAR may override any
// switch of its base profile to make a what-if kernel (`customKernel`).

export type PhandleCacheModel = 'none' | 'pow2' | 'pow2-refs' | 'hash128';
export type RefcountModel = 'plain' | 'checked';
export type MobilityLookup = 'per-op' | 'central';
export type KernelName =
  | '4.16'
  | '4.18'
  | '5.0'
  | '5.4'
  | '5.8'
  | '5.10'
  | '5.14'
  | '5.16'
  | '6.1'
  | '6.6'
  | '6.12';
export type PfoDevices = 'kernel' | 'fixed';
/**
 * K-PRRN: what rtasd's handle_rtas_event does with a PRRN event. `update`: pseries_devicetree_update
 * with the negated scope (topology updates on by default, 4.x and 5.0); `disabled`: dropped silently,
 * since prrn_is_enabled() is false unless booted with topology_updates=on (5.2 to 5.9); `ignored`: the
 * PRRN code is gone and rtasd logs that it ignored the event (5.10+).
 */
export type PrrnEvents = 'update' | 'disabled' | 'ignored';

/** The behaviour switches. Every one is honoured on every code path, whatever the others are. */
export interface KernelSwitches {
  /** K-CACHE */
  readonly phandleCache: PhandleCacheModel;
  /** K-SYSFS-5: sysfs attach takes its own reference. */
  readonly sysfsHoldsRef: boolean;
  /** E11: that reference is taken before kobject_add, so a failed add keeps it (5.0 only). */
  readonly sysfsRefBeforeAdd: boolean;
  /** K-DLPAR-3 */
  readonly dlparDetachPut: boolean;
  /** K-REF-4 */
  readonly refcount: RefcountModel;
  /** K-MOB-2 */
  readonly mobilityLookup: MobilityLookup;
  /** K-MOB-7 */
  readonly skipPlatformFacilities: boolean;
  /** E5: `%pOF` gets and puts every ancestor (fwnode_full_name_string, 5.5+). */
  readonly pofTakesRefs: boolean;
  /** E10: mobility tears cacheinfo down before the update and rebuilds it after (e610a466d16a). */
  readonly cacheinfoRebuild: boolean;
  /** E14: rng_init puts the node it looked up (5.15). */
  readonly rngInitPut: boolean;
  /** E4: kobject_cleanup drops the parent reference after the release function (5.15), not in kobject_del. */
  readonly parentPutAfterRelease: boolean;
  /** E12: every WARNING block starts with the cut-here line, a bare WARN_ON too (5.8+). */
  readonly cutHereAlways: boolean;
  /** E8: the kernel suspends the partition itself and logs it (5.11+). */
  readonly suspendInKernel: boolean;
  /** E9: mobility.c has pr_fmt "mobility: " and the 5.11+ message texts. */
  readonly mobilityPrFmt: boolean;
  /** K-MOB-1: after the fixup, mobility waits for the memory transfer and logs both ends (6.1+). */
  readonly waitMemoryTransfer: boolean;
  /** E5: `%pOF` takes no reference on the printed node itself, only on its ancestors (6.6+). */
  readonly pofSkipsSelf: boolean;
  /** K-DETACH-1: __of_detach_node does the sysfs detach itself, so its WARN return skips that put (6.6+). */
  readonly detachSysfsInCore: boolean;
  /** K-PRRN: how a PRRN event is handled. */
  readonly prrnEvents: PrrnEvents;
}

export type SwitchName = keyof KernelSwitches;

/**
 * E7: how bad_page_fault words a data-access fault: 4.x's paging request, 5.0's `BUG: … at`, and the
 * `BUG: … on read at` of 5.8+. The last also means die()'s banner shows PAGE_SIZE and MMU.
 */
export type FaultMessages = 'paging-request' | 'bug' | 'bug-access';

/** Source lines and build facts of one release, used only to print messages as that build would. */
export interface ReleaseFacts {
  readonly faultMessages: FaultMessages;
  /**
   * offsetof(struct device_node, kobj) in that release's ppc64 build: where kobject_put's first read
   * through a bad node pointer lands (E7). From the struct layouts; not checked against a compiler.
   */
  readonly kobjOffset: number;
  /** Taint flags print_tainted knows (17 before TAINT_RANDSTRUCT, 18 after, 19 from TAINT_TEST). */
  readonly taintFlags: number;
  /** die()'s platform line shows PAGE_SIZE and MMU (from 5.8). */
  readonly dieBannerPageSize: boolean;
  /** panic()'s closing `---[ end Kernel panic … ]---` line is closed (4.16's lacks the `]---`). */
  readonly panicEndClosed: boolean;
  /** Functions a release calls by another name (5.0's `refcount_inc_checked`). */
  readonly functionNames: Readonly<Record<string, string>>;
  /** uname -r */
  readonly release: string;
  /** print_oops_end_marker prints a zero id instead of the boot's random one (6.1+). */
  readonly traceIdZero: boolean;
  /**
   * 64-bit powerpc can be built with KASAN, on the radix MMU only (6.1+: HAVE_ARCH_KASAN if
   * PPC_RADIX_MMU; earlier releases have it for PPC32 alone). Used only for the `kasan` what-if's note.
   */
  readonly kasanRadixOnly: boolean;
  /** dump_stack_print_info's CPU line shows `UID: <uid>` after the CPU (6.12). */
  readonly cpuLineUid: boolean;
  /** `file:line` of each WARN site, by the function that contains it. */
  readonly warnLines: Readonly<Record<string, string>>;
  /** What that release's /sys/kernel/dlpar code does (docs/kernel-model.md, K-DLPAR-4). */
  readonly dlpar: DlparFacts;
  /** What that release's rpadlpar, rpaphp and vio code does for I/O slots (docs/kernel-model.md, K-SLOT). */
  readonly slot: SlotFacts;
}

/**
 * The I/O slot code of one release (drivers/pci/hotplug/rpadlpar_core.c and rpaphp_core.c,
 * arch/powerpc/platforms/pseries/vio.c), read in that release's tree. Facts of the build, not switches.
 */
export interface SlotFacts {
  /**
   * find_vio_slot_node puts its /vdevice reference, and dlpar_add_slot / dlpar_remove_slot put the
   * node find_dlpar_node returned (5.4+, fb26228bfc4c); before, both references leak on every write.
   */
  readonly putsNodes: boolean;
  /**
   * rpaphp_check_drc_props reads the parent's `ibm,drc-info` when the parent has one (5.8+,
   * 52e2b0f16574 with 9723c25f99af and 4f9f2d3d7a43). Before, it asked FW_FEATURE_DRC_INFO, which
   * those releases never negotiate (their prom_init does not request OV5_DRC_INFO), so they read the
   * four v1 lists alone (docs/kernel-notes.md note 53).
   */
  readonly drcInfo: boolean;
  /**
   * vio_register_device_node reads the parent's and the node's `device_type` property (of_node_is_type,
   * of_node_get_device_type; 5.0+), so a /vdevice child without one is refused; 4.x reads the types
   * cached when the nodes were made (`np->type`, "<NULL>" without the property), never refusing.
   */
  readonly vioReadsTypes: boolean;
  /**
   * A node's name, as of_find_node_by_name matches it and `%pOFn` prints it, is its full name up to the
   * `@`, compared exactly (of_node_name_eq, 5.0+); before, `np->name` (the `name` property, "<NULL>"
   * without one), compared case-insensitively (of_node_cmp). A drivers/of and vsprintf fact, here
   * because only the slot and vio code reads it.
   */
  readonly nodeNameFromFullName: boolean;
}

const SLOT_4X: SlotFacts = {
  putsNodes: false,
  drcInfo: false,
  vioReadsTypes: false,
  nodeNameFromFullName: false,
};
const SLOT_5X: SlotFacts = {
  putsNodes: true,
  drcInfo: true,
  vioReadsTypes: true,
  nodeNameFromFullName: true,
};
const SLOT_FACTS: Readonly<Record<KernelName, SlotFacts>> = {
  '4.16': SLOT_4X,
  '4.18': SLOT_4X,
  '5.0': { ...SLOT_5X, putsNodes: false, drcInfo: false },
  '5.4': { ...SLOT_5X, drcInfo: false },
  '5.8': SLOT_5X,
  '5.10': SLOT_5X,
  '5.14': SLOT_5X,
  '5.16': SLOT_5X,
  '6.1': SLOT_5X,
  '6.6': SLOT_5X,
  '6.12': SLOT_5X,
};

/**
 * The /sys/kernel/dlpar code of one release (arch/powerpc/platforms/pseries/hotplug-cpu.c and
 * hotplug-memory.c), read in that release's tree. Facts of the build rather than switches: the LPAR
 * create schema does not offer them for override.
 */
export interface DlparFacts {
  /** valid_cpu_drc_index and the add-by-count search skip the count cell of `ibm,drc-indexes` (5.4+). */
  readonly cpuDrcListSkipsCount: boolean;
  /** dlpar_offline_cpu refuses the last online CPU itself, and a failed remove by index unisolates (5.14+). */
  readonly cpuRemoveLastCheck: boolean;
  /** CPU add attaches the cache siblings configure-connector returns; remove detaches unused caches (6.1+). */
  readonly cpuCacheNodes: boolean;
  /** lmb_is_removable: `sections` also asks is_mem_section_removable (to 5.4); `unreserved` also refuses DRCONF_MEM_RESERVED (5.14+). */
  readonly lmbRemovable: 'sections' | 'assigned' | 'unreserved';
  /** The remove-by-index lines and the add-by-count success line are pr_debug (5.14+). */
  readonly memoryQuietIndex: boolean;
  /** The memory notifier re-reads drmem from an update of ibm,dynamic-memory (drmem_update_lmbs, 5.16+). */
  readonly drmemFollowsUpdates: boolean;
}

const DLPAR_4X: DlparFacts = {
  cpuDrcListSkipsCount: false,
  cpuRemoveLastCheck: false,
  cpuCacheNodes: false,
  lmbRemovable: 'sections',
  memoryQuietIndex: false,
  drmemFollowsUpdates: false,
};
const DLPAR_5_14: DlparFacts = {
  cpuDrcListSkipsCount: true,
  cpuRemoveLastCheck: true,
  cpuCacheNodes: false,
  lmbRemovable: 'unreserved',
  memoryQuietIndex: true,
  drmemFollowsUpdates: false,
};
const DLPAR_FACTS: Readonly<Record<KernelName, DlparFacts>> = {
  '4.16': DLPAR_4X,
  '4.18': DLPAR_4X,
  '5.0': DLPAR_4X,
  '5.4': { ...DLPAR_4X, cpuDrcListSkipsCount: true },
  '5.8': { ...DLPAR_4X, cpuDrcListSkipsCount: true, lmbRemovable: 'assigned' },
  '5.10': { ...DLPAR_4X, cpuDrcListSkipsCount: true, lmbRemovable: 'assigned' },
  '5.14': DLPAR_5_14,
  '5.16': { ...DLPAR_5_14, drmemFollowsUpdates: true },
  '6.1': { ...DLPAR_5_14, drmemFollowsUpdates: true, cpuCacheNodes: true },
  '6.6': { ...DLPAR_5_14, drmemFollowsUpdates: true, cpuCacheNodes: true },
  '6.12': { ...DLPAR_5_14, drmemFollowsUpdates: true, cpuCacheNodes: true },
};

export interface KernelProfile extends KernelSwitches, ReleaseFacts {
  readonly name: KernelName;
  /** What each switch value is named after, for GET /v1/profiles. */
  readonly origin: string;
  /** Set for a what-if kernel: the switches that differ from the base profile `name`. */
  readonly overrides: Partial<KernelSwitches> | null;
}

/**
 * A profile as data. Every modelled primitive reads `k.profile.<switch>`, so the object's shape is on
 * the hot path: one more top-level key made a 250k-node create about 40% slower in `npm run bench`
 * (V8 stops keeping the properties in the object itself), so new facts go into the nested groups
 * (`dlpar`, `slot`).
 */
function profile(
  name: KernelName,
  switches: KernelSwitches,
  facts: Pick<ReleaseFacts, 'warnLines' | 'kobjOffset' | 'faultMessages'> &
    Partial<Omit<ReleaseFacts, 'dlpar' | 'slot'>>,
  origin: string,
): KernelProfile {
  return {
    name,
    ...switches,
    release: `${name}.0-lparsim`,
    taintFlags: 18,
    dieBannerPageSize: facts.faultMessages === 'bug-access',
    panicEndClosed: true,
    functionNames: {},
    traceIdZero: false,
    kasanRadixOnly: false,
    cpuLineUid: false,
    dlpar: DLPAR_FACTS[name],
    slot: SLOT_FACTS[name],
    ...facts,
    origin,
    overrides: null,
  };
}

const BASE_4X: KernelSwitches = {
  phandleCache: 'none',
  sysfsHoldsRef: false,
  sysfsRefBeforeAdd: false,
  dlparDetachPut: false,
  refcount: 'plain',
  mobilityLookup: 'per-op',
  skipPlatformFacilities: false,
  pofTakesRefs: false,
  cacheinfoRebuild: false,
  rngInitPut: false,
  parentPutAfterRelease: false,
  cutHereAlways: false,
  suspendInKernel: false,
  mobilityPrFmt: false,
  waitMemoryTransfer: false,
  pofSkipsSelf: false,
  detachSysfsInCore: false,
  prrnEvents: 'update',
};

// E12: the real line of each WARN site in that release (docs/kernel-notes.md has the readings).
// Keys are WARN sites: a function, `function!variant` where it has two, or a refcount site.
const LINES_4X = {
  __of_detach_node: 'drivers/of/dynamic.c:252',
  '__of_detach_node!parent': 'drivers/of/dynamic.c:256',
  'refcount:inc-on-0': 'lib/refcount.c:153',
  'refcount:underflow': 'lib/refcount.c:187',
};
// 5.5+ refcount_warn_saturate: one WARN_ONCE per saturation type.
const LINES_SATURATE = {
  'refcount:saturated': 'lib/refcount.c:22',
  'refcount:add-uaf': 'lib/refcount.c:25',
  'refcount:sub-uaf': 'lib/refcount.c:28',
};

// Switch sets that several releases share, each read in the trees named in docs/kernel-model.md D.
const SWITCHES_5_8: KernelSwitches = {
  ...BASE_4X,
  phandleCache: 'hash128',
  sysfsHoldsRef: true,
  dlparDetachPut: true,
  refcount: 'checked',
  pofTakesRefs: true,
  cacheinfoRebuild: true,
  cutHereAlways: true,
  prrnEvents: 'disabled',
};
// The 5.11 mobility rework (seen in 5.14.2), on top of 5.10's puts.
const SWITCHES_5_14: KernelSwitches = {
  ...SWITCHES_5_8,
  rngInitPut: true,
  parentPutAfterRelease: true,
  mobilityLookup: 'central',
  suspendInKernel: true,
  mobilityPrFmt: true,
  prrnEvents: 'ignored',
};
const SWITCHES_6_6: KernelSwitches = {
  ...SWITCHES_5_14,
  skipPlatformFacilities: true,
  waitMemoryTransfer: true,
  pofSkipsSelf: true,
  detachSysfsInCore: true,
};

export const KERNEL_PROFILES: readonly KernelProfile[] = [
  profile(
    '4.16',
    BASE_4X,
    {
      warnLines: LINES_4X,
      kobjOffset: 0x58,
      faultMessages: 'paging-request',
      taintFlags: 17,
      panicEndClosed: false,
    },
    'before the phandle cache (0b3ce78e90fc arrived in 4.17)',
  ),
  profile(
    '4.18',
    { ...BASE_4X, phandleCache: 'pow2' },
    { warnLines: LINES_4X, kobjOffset: 0x58, faultMessages: 'paging-request' },
    'power-of-two phandle cache without references or invalidation (0b3ce78e90fc, 4.17 to 4.20)',
  ),
  profile(
    '5.0',
    {
      ...BASE_4X,
      phandleCache: 'pow2-refs',
      sysfsHoldsRef: true,
      sysfsRefBeforeAdd: true,
      dlparDetachPut: true,
    },
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:258',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:262',
        of_find_node_by_phandle: 'drivers/of/base.c:1240',
        'refcount:inc-on-0': 'lib/refcount.c:153',
        'refcount:underflow': 'lib/refcount.c:187',
      },
      kobjOffset: 0x50,
      faultMessages: 'bug',
      functionNames: {
        refcount_inc: 'refcount_inc_checked',
        refcount_sub_and_test: 'refcount_sub_and_test_checked',
      },
    },
    'cache entries hold references and are evicted on detach; sysfs holds a reference (5801169a2ed2, b8a9ac1a5b99, 5b2c2f5a0ea3)',
  ),
  profile(
    '5.4',
    {
      ...BASE_4X,
      phandleCache: 'pow2-refs',
      sysfsHoldsRef: true,
      sysfsRefBeforeAdd: true,
      dlparDetachPut: true,
      cacheinfoRebuild: true,
      cutHereAlways: true,
      prrnEvents: 'disabled',
    },
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:258',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:262',
        of_find_node_by_phandle: 'drivers/of/base.c:1240',
        'refcount:inc-on-0': 'lib/refcount.c:156',
        'refcount:underflow': 'lib/refcount.c:190',
      },
      kobjOffset: 0x50,
      faultMessages: 'bug',
      // 5.4's __die already prints PAGE_SIZE and MMU, though its fault line is still 5.0's.
      dieBannerPageSize: true,
      functionNames: {
        refcount_inc: 'refcount_inc_checked',
        refcount_sub_and_test: 'refcount_sub_and_test_checked',
      },
    },
    "5.0's cache and sysfs reference (pow2-refs, taken before kobject_add), refcount_t not yet always checked; cacheinfo rebuilt across migration and cut-here on every WARN already; checked against the 5.4.0 source",
  ),
  profile(
    '5.8',
    SWITCHES_5_8,
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:258',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:262',
        ...LINES_SATURATE,
      },
      kobjOffset: 0x58,
      faultMessages: 'bug-access',
    },
    'fixed 128-slot hash cache (90dc0d1ce890, 5.6); refcount_t always checked (5.5); %pOF through fwnode (5.5); cacheinfo rebuilt across migration (e610a466d16a)',
  ),
  profile(
    '5.10',
    { ...SWITCHES_5_8, rngInitPut: true, parentPutAfterRelease: true, prrnEvents: 'ignored' },
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:258',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:262',
        ...LINES_SATURATE,
      },
      kobjOffset: 0x58,
      faultMessages: 'bug-access',
    },
    "5.8's switches plus rng_init's put and kobject_cleanup's late parent put; mobility still per-op and suspended from user space; checked against the 5.10.7 source",
  ),
  profile(
    '5.14',
    { ...SWITCHES_5_14 },
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:260',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:264',
        ...LINES_SATURATE,
      },
      kobjOffset: 0x80,
      faultMessages: 'bug-access',
    },
    'the 5.11 mobility rework (central lookup 2efd7f6eb9b7, in-kernel suspend, pr_fmt) without the platform-facilities skip; checked against the 5.14.2 source',
  ),
  profile(
    '5.16',
    { ...SWITCHES_5_14, skipPlatformFacilities: true },
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:260',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:264',
        ...LINES_SATURATE,
      },
      kobjOffset: 0x80,
      faultMessages: 'bug-access',
    },
    'central lookup in the update loop (2efd7f6eb9b7, 5.11); in-kernel suspend (5.11); platform-facilities updates ignored (319fa1a52e43); checked against the 5.15.16 source',
  ),
  profile(
    '6.1',
    { ...SWITCHES_5_14, skipPlatformFacilities: true, waitMemoryTransfer: true },
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:260',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:264',
        ...LINES_SATURATE,
      },
      kobjOffset: 0x80,
      faultMessages: 'bug-access',
      taintFlags: 19,
      traceIdZero: true,
      kasanRadixOnly: true,
    },
    "5.16's switches; mobility waits for the memory transfer after the fixup; TAINT_TEST makes 19 taint flags; checked against the 6.1.20 source",
  ),
  profile(
    '6.6',
    { ...SWITCHES_6_6 },
    {
      // One WARN_ON covers both checks from 6.6: both sites print the same line.
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:261',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:261',
        ...LINES_SATURATE,
      },
      kobjOffset: 0x80,
      faultMessages: 'bug-access',
      taintFlags: 19,
      traceIdZero: true,
      kasanRadixOnly: true,
    },
    "6.1's switches; %pOF no longer takes a reference on the printed node; __of_detach_node does the sysfs detach itself; checked against the 6.6.9 source",
  ),
  profile(
    '6.12',
    { ...SWITCHES_6_6 },
    {
      warnLines: {
        __of_detach_node: 'drivers/of/dynamic.c:263',
        '__of_detach_node!parent': 'drivers/of/dynamic.c:263',
        ...LINES_SATURATE,
      },
      kobjOffset: 0x80,
      faultMessages: 'bug-access',
      taintFlags: 19,
      traceIdZero: true,
      kasanRadixOnly: true,
      cpuLineUid: true,
    },
    "6.6's switches, unchanged in the files this model reads; checked against the 6.12.0 source",
  ),
];

export const KERNEL_NAMES: readonly KernelName[] = KERNEL_PROFILES.map((p) => p.name);

/**
 * Every WARN site's line in the latest release that has it. A what-if kernel can reach a site its base
 * release never had (4.18 with checked refcounts warns from refcount_warn_saturate): it prints the line
 * of the release the behaviour comes from.
 */
export const ANY_RELEASE_WARN_LINES: Readonly<Record<string, string>> = Object.assign(
  {},
  ...KERNEL_PROFILES.map((p) => p.warnLines),
);

export const SWITCH_NAMES: readonly SwitchName[] = Object.keys(BASE_4X) as SwitchName[];

/** The values each switch can take (booleans, or the enum of its models). */
export const SWITCH_VALUES: Readonly<Record<SwitchName, readonly (string | boolean)[]>> = {
  ...(Object.fromEntries(SWITCH_NAMES.map((s) => [s, [false, true]])) as unknown as Record<
    SwitchName,
    readonly boolean[]
  >),
  phandleCache: ['none', 'pow2', 'pow2-refs', 'hash128'],
  refcount: ['plain', 'checked'],
  mobilityLookup: ['per-op', 'central'],
  prrnEvents: ['update', 'disabled', 'ignored'],
};

export const BOOLEAN_SWITCHES: readonly SwitchName[] = SWITCH_NAMES.filter(
  (s) => typeof BASE_4X[s] === 'boolean',
);

export function kernelProfile(name: string): KernelProfile | undefined {
  return KERNEL_PROFILES.find((p) => p.name === name);
}

/** Only the switches of a profile (what GET /v1/profiles and the LPAR document show). */
export function switchesOf(p: KernelSwitches): KernelSwitches {
  return Object.fromEntries(SWITCH_NAMES.map((s) => [s, p[s]])) as unknown as KernelSwitches;
}

/**
 * A what-if kernel: `base` with some switches overridden. Overrides equal to the base's value are
 * dropped, so a kernel is custom exactly when some switch really differs. Unknown switches or values
 * answer a message (the caller turns it into a 400); nothing is thrown here.
 */
export function customKernel(
  base: KernelProfile,
  overrides: Readonly<Record<string, unknown>>,
): KernelProfile | string {
  const differing: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (!(SWITCH_NAMES as readonly string[]).includes(key)) return `unknown switch ${JSON.stringify(key)}`;
    const allowed = SWITCH_VALUES[key as SwitchName];
    if (!allowed.includes(value as string | boolean))
      return `switch ${key} takes ${allowed.map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(value)}`;
    if (base[key as SwitchName] !== value) differing[key] = value;
  }
  if (Object.keys(differing).length === 0) return base;
  return { ...base, ...differing, overrides: differing as Partial<KernelSwitches> };
}

/** LPAR creation options that change kernel behaviour (kept for the LPAR's life). */
export interface KernelOptions {
  /** K-REF-4: the 4.x CONFIG_REFCOUNT_FULL behaviour for `plain` profiles. */
  readonly refcountFull: boolean;
  /**
   * E2: print KASAN reports. A what-if: powerpc64 had no KASAN up to 5.16 and from 6.1 only on radix
   * (note 51), so the default is off;
   * use-after-free is counted and reported by the API either way.
   */
  readonly kasan: boolean;
  /**
   * K-UAF-3: a `slub_debug` (FZPU) build, as real kernels of every profile could boot: freed nodes are
   * poisoned, and a write through a stale pointer is reported when SLUB next checks that object.
   */
  readonly slubDebug: boolean;
  /** K-MOB-8: pr_debug lines reach dmesg. */
  readonly dynamicDebug: boolean;
  /** K-DRV-4. */
  readonly pfoDevices: PfoDevices;
  /** E7: an oops panics the partition (panic_on_oops). */
  readonly panicOnOops: boolean;
}

export const DEFAULT_KERNEL_OPTIONS: KernelOptions = {
  refcountFull: false,
  kasan: false,
  slubDebug: false,
  dynamicDebug: false,
  pfoDevices: 'kernel',
  panicOnOops: false,
};
