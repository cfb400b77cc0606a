// The kernel's documents: dmesg, the phandle cache, the vio bus and its drivers, the invariants.

import { Type } from '@sinclair/typebox';
import { LOG_LEVELS } from '../../kernel/printk.ts';
import { NODE_STATES } from '../../of/node.ts';
import { Address, Closed, Items, PhandleHex, Ref, StringEnum } from './common.ts';
import { Refcount } from './nodes.ts';

const NodeStateName = StringEnum(NODE_STATES);
const PathOrNull = Type.Union([Type.String(), Type.Null()], { description: 'null unless attached' });

export const DmesgRecord = Closed(
  {
    seq: Type.Integer({ description: 'the line number (since= resumes after it)' }),
    usec: Type.Integer({ description: 'simulated kernel time, microseconds since boot' }),
    level: StringEnum(LOG_LEVELS),
    text: Type.String(),
    line: Type.String({ description: 'the line as dmesg prints it' }),
  },
  { $id: 'DmesgRecord' },
);

export const DmesgPage = Closed(
  {
    items: Type.Array(Ref(DmesgRecord)),
    next: Type.Integer({ description: 'the last line number: since= for the next read' }),
  },
  { $id: 'DmesgPage', description: 'Kernel log lines after `since`' },
);

/** One occupied slot of the phandle cache: the node it names. A stale slot is a stale cache entry. */
export const CacheSlot = Closed(
  {
    slot: Type.Integer(),
    phandle: PhandleHex,
    address: Address,
    path: PathOrNull,
    lastKnownPath: Type.String(),
    state: NodeStateName,
    stale: Type.Boolean({ description: 'a stale cache entry: the node it names is not attached' }),
  },
  { $id: 'CacheSlot', description: 'An occupied phandle-cache slot and the node it names' },
);

const KERNEL_CACHE_COUNTERS = {
  lookups: Type.Integer({ description: 'of_find_node_by_phandle calls that consulted the cache' }),
  hits: Type.Integer(),
  misses: Type.Integer(),
  collisions: Type.Integer({ description: 'the slot held another phandle' }),
  staleHits: Type.Integer({ description: 'hits on a node that is not attached' }),
  useAfterFreeHits: Type.Integer({ description: "hits whose check read a freed node's phandle" }),
};

export const PhandleCacheCounts = Closed(
  {
    ...KERNEL_CACHE_COUNTERS,
    fillCollisions: Type.Integer({ description: 'phandles the last fill found their slot taken for' }),
    staleCacheEntries: Type.Integer({
      description: 'occupied slots naming a node that is not attached (as the LPAR counts them)',
    }),
  },
  { $id: 'PhandleCacheCounts', description: "The cache's counters since boot and its stale entries now" },
);

export const PhandleCacheDoc = Closed(
  {
    model: StringEnum(['none', 'pow2', 'pow2-refs', 'hash128'] as const),
    size: Type.Integer({ description: 'slots (0 without a cache)' }),
    mask: Type.Union([Type.Integer(), Type.Null()], { description: 'pow2 and pow2-refs: the slot mask' }),
    hashBits: Type.Union([Type.Integer(), Type.Null()], { description: 'hash128: the hash width' }),
    holdsReferences: Type.Boolean({ description: "pow2-refs: each slot holds the cache's reference" }),
    counts: Ref(PhandleCacheCounts),
    slots: Type.Array(Ref(CacheSlot), { description: 'every occupied slot, in slot order' }),
    fillCollisions: Type.Integer({ deprecated: true, description: 'deprecated: counts.fillCollisions' }),
    counters: Closed(KERNEL_CACHE_COUNTERS, {
      deprecated: true,
      description: 'deprecated: the same members of counts',
    }),
    staleEntries: Type.Integer({ deprecated: true, description: 'deprecated: counts.staleCacheEntries' }),
  },
  { $id: 'PhandleCache', description: 'The phandle cache: model, size, counts, every occupied slot' },
);

export const VioDevice = Closed(
  {
    name: Type.String(),
    driver: Type.Union([Type.String(), Type.Null()], { description: 'the driver bound to it, if any' }),
    holder: Type.String({ description: "the device's reference holder name (vio:<device>)" }),
    node: Closed({
      address: Address,
      state: NodeStateName,
      path: PathOrNull,
      lastKnownPath: Type.String(),
      refcount: Refcount,
    }),
  },
  { $id: 'VioDevice' },
);

export const VioList = Items(Ref(VioDevice), { $id: 'VioList' });

export const VioDriver = Closed(
  {
    name: Type.String(),
    compatible: Type.String(),
    namePrefix: Type.String(),
    devices: Type.Array(Type.String(), { description: 'the devices it bound' }),
    listensForUpdates: Type.Boolean({ description: 'on the reconfig notifier chain (nx842_OF_notifier)' }),
  },
  { $id: 'VioDriver' },
);

export const VioDriverList = Items(Ref(VioDriver), { $id: 'VioDriverList' });

export const Invariants = Closed(
  {
    ok: Type.Boolean({ description: 'every invariant holds' }),
    items: Type.Array(
      Closed({
        name: Type.String(),
        rule: Type.String({ description: 'the rules of spec/kernel-of.md it checks' }),
        ok: Type.Boolean(),
        details: Type.Array(Type.String(), { description: 'what breaks it (the first few)' }),
      }),
    ),
  },
  { $id: 'Invariants', description: 'Each invariant of the model with pass/fail and details' },
);
