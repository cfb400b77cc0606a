import { type Static, Type } from '@sinclair/typebox';
import { NODE_STATES } from '../../of/node.ts';
import { enc } from '../../of/property.ts';
import {
  Closed,
  Holder,
  InspectedNodeRef,
  Items,
  NodeRef,
  Page,
  PageQuery,
  Phandle,
  PhandleHex,
  Ref,
  StringEnum,
} from './common.ts';

export const NodeState = StringEnum(NODE_STATES);

export const HolderCount = Closed({ holder: Type.String(), count: Type.Integer() });
export const Refcount = Type.Union([Type.Integer(), Type.Literal('saturated')], {
  description:
    "the kernel's count (a plain 4.x count can go below 0), or saturated (refcount_t, K-REF-4); it is the holders' counts less the unbalanced puts, unless refcount_t refused an operation",
});
const Holders = Type.Array(HolderCount, {
  description: 'who holds references: gets not yet matched by puts of the same holder (K-REF-1)',
});
const UnbalancedPuts = Type.Array(HolderCount, {
  description: "puts by holders that held nothing on the node: each took away some listed holder's reference",
});

/** A property value as decodeValue reads it: a string, a string list, or u32 cells. */
const DecodedValue = Type.Union([Type.String(), Type.Array(Type.String()), Type.Array(Type.Integer())], {
  description: 'the decoded value: a string, strings, or u32 cells (absent for empty and bytes)',
});

export const PropertyDoc = Closed({
  name: Type.String(),
  length: Type.Integer(),
  hex: Type.String(),
  type: StringEnum(['empty', 'string', 'strings', 'u32', 'bytes'] as const),
  value: Type.Optional(DecodedValue),
  u64: Type.Optional(
    Type.Array(Type.String(), {
      description: 'the value as big-endian u64 cells (hex), when 8-byte aligned',
    }),
  ),
});

export const NodeDoc = Closed(
  {
    address: Type.String(),
    name: Type.String(),
    type: Type.String(),
    fullName: Type.String(),
    path: Type.Union([Type.String(), Type.Null()], { description: 'null unless attached' }),
    lastKnownPath: Type.String({ description: 'the path %pOF prints, by parent pointers' }),
    phandle: PhandleHex,
    state: NodeState,
    refcount: Refcount,
    flags: Type.Array(Type.String()),
    holders: Holders,
    unbalancedPuts: UnbalancedPuts,
    sysfs: Closed({ inSysfs: Type.Boolean(), name: Type.Union([Type.String(), Type.Null()]) }),
    parent: Type.Union([Type.String(), Type.Null()]),
    freed: Type.Union([
      Closed({ comm: Type.String(), pid: Type.Integer(), trace: Type.String(), usec: Type.Integer() }),
      Type.Null(),
    ]),
    properties: Type.Array(PropertyDoc),
    deadProperties: Type.Array(Closed({ name: Type.String(), length: Type.Integer(), hex: Type.String() })),
    children: Type.Array(Closed({ name: Type.String(), address: Type.String(), state: NodeState })),
  },
  { $id: 'Node', description: 'A device node, whatever its state (a freed one with its last contents)' },
);

export const NodeSummary = Closed(
  {
    address: Type.String(),
    fullName: Type.String(),
    path: Type.Union([Type.String(), Type.Null()]),
    lastKnownPath: Type.String(),
    phandle: PhandleHex,
    state: NodeState,
    refcount: Refcount,
    flags: Type.Array(Type.String()),
    holders: Holders,
    unbalancedPuts: UnbalancedPuts,
  },
  { $id: 'NodeSummary', description: 'A node with its count, holders and unbalanced puts' },
);

/** A leaked node: its summary and how many migrations it has survived. */
export const LeakedNode = Closed(
  {
    ...NodeSummary.properties,
    migrationsSurvived: Type.Integer({ description: 'migrations it stayed leaked through' }),
  },
  { $id: 'LeakedNode' },
);

export const NodesQuery = Type.Object(
  {
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    state: Type.Optional(NodeState),
    ...PageQuery,
    offset: Type.Optional(
      Type.Integer({
        minimum: 0,
        deprecated: true,
        description:
          'deprecated, use `cursor`: skips this many matches first (and costs them); not with `cursor`',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A page of node summaries in address (allocation) order, and how many match in all. */
export const NodeSummaryPage = Page(
  Ref(NodeSummary),
  { total: Type.Integer({ description: 'nodes of that state (all nodes without `state`)' }) },
  { $id: 'NodeSummaryPage' },
);

/** A page of /refcounts: node summaries in address order. */
export const RefcountsPage = Page(Ref(NodeSummary), undefined, { $id: 'RefcountsPage' });

/** A page of /leaks: leaked nodes in address order. */
export const LeaksPage = Page(Ref(LeakedNode), undefined, { $id: 'LeaksPage' });

export const LookupDoc = Closed(
  {
    phandle: PhandleHex,
    how: Type.Union([Type.Literal('hit'), Type.Literal('miss'), Type.Literal('stale-hit')]),
    found: Type.Boolean(),
    slot: Type.Union([Type.Integer(), Type.Null()], {
      description: 'the cache slot it checked (null: none)',
    }),
    useAfterFree: Type.Integer({
      minimum: 0,
      description:
        'use-after-free hits this lookup made (the cache check, the get and the put of a freed node), as counts.useAfterFree counts them',
    }),
    stale: Type.Boolean({ description: 'the node returned is not attached (detached, released or freed)' }),
    node: Type.Union([Ref(NodeDoc), Type.Null()]),
  },
  { $id: 'PhandleLookup', description: 'What of_find_node_by_phandle returned, and how' },
);

export const RefBody = Type.Object({ node: NodeRef, holder: Holder }, { additionalProperties: false });
export const PutBody = Type.Object(
  { node: InspectedNodeRef, holder: Holder },
  { additionalProperties: false },
);
export const RefDoc = Closed(
  { id: Type.String(), holder: Type.String(), node: Ref(NodeSummary) },
  { $id: 'Ref', description: 'A reference taken over the API' },
);

export const RefList = Items(Ref(RefDoc), { $id: 'RefList' });

/** A property name as ofdt can carry it: no white space, no NUL. */
const PropName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' });

export const PropertyValue = Type.Union([
  Type.Object({ name: PropName, string: Type.String({ maxLength: 65536 }) }, { additionalProperties: false }),
  Type.Object(
    { name: PropName, strings: Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 4096 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      name: PropName,
      u32: Type.Array(Type.Integer({ minimum: 0, maximum: 0xffffffff }), { maxItems: 1 << 20 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { name: PropName, hex: Type.String({ pattern: '^([0-9a-fA-F]{2})*$', maxLength: 1 << 22 }) },
    { additionalProperties: false },
  ),
]);

/** The bytes a JSON property value stands for (add_node, add/update_property, a migration's updates). */
export function propertyValueBytes(p: Static<typeof PropertyValue>): Uint8Array {
  if ('string' in p) return enc.string(p.string);
  if ('strings' in p) return enc.strings(p.strings);
  if ('u32' in p) return enc.u32Cells(p.u32);
  return Uint8Array.from(Buffer.from(p.hex, 'hex'));
}

export const AddNodeBody = Type.Object(
  {
    path: Type.String({ minLength: 2, maxLength: 4096, pattern: '^/[\\x21-\\x7e]*$' }),
    properties: Type.Array(PropertyValue, { maxItems: 4096 }),
  },
  { additionalProperties: false },
);
export const PropertyBody = Type.Object(
  {
    phandle: Phandle,
    property: PropertyValue,
  },
  { additionalProperties: false },
);
export const OfdtDoc = Closed(
  { command: Type.String(), bytes: Type.Integer() },
  { $id: 'OfdtResult', description: 'A write to /proc/ppc64/ofdt the kernel accepted: its command and size' },
);

// ---- NodeDoc as JSON -------------------------------------------------------------------------------
//
// The node document is the answer pollers ask for most, and the schema serializer (fast-json-stringify)
// is slow with it: it builds the text from hundreds of concatenations, compares every member of the
// open objects with the known names, and runs each nullable or union member (`path`, `refcount`,
// `parent`, `freed`, `sysfs.name`) through an ajv validator; behind the `?path=` route's response
// union it first validated the whole document against NodeDoc to choose a branch. When a document has
// the members the schema names, in its order, nothing else, and values of the schema's types, the
// schema serializer writes exactly what JSON.stringify writes (its string escapes are JSON.stringify's,
// integers print alike), so nodeDocJson checks that and lets the native JSON.stringify write it. A
// property built with `u64` before `type` (nodeDocument's order) is written from a copy in schema
// order. Anything else gives null, and the caller uses the schema serializer.
// test/api/nodes.test.ts compares the two on every node of migrated trees and on odd documents.

type Doc = Record<string, unknown>;

const NODE_KEYS: readonly string[] = Object.keys(NodeDoc.properties);
const HOLDER_KEYS: readonly string[] = Object.keys(HolderCount.properties);
/** PropertyDoc's members in schema order, and nodeDocument's order (u64 before type). */
const PROPERTY_KEYS: readonly string[] = Object.keys(PropertyDoc.properties);
const PROPERTY_KEYS_U64_FIRST: readonly string[] = ['name', 'length', 'hex', 'u64', 'type', 'value'];
const SYSFS_KEYS: readonly string[] = ['inSysfs', 'name'];
const FREED_KEYS: readonly string[] = ['comm', 'pid', 'trace', 'usec'];
const DEAD_PROPERTY_KEYS: readonly string[] = ['name', 'length', 'hex'];
const CHILD_KEYS: readonly string[] = ['name', 'address', 'state'];

/** A plain object (not an array, no toJSON) whose own keys are exactly `keys`, in that order. */
function keyed(v: unknown, keys: readonly string[]): v is Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as Doc).toJSON === 'function')
    return false;
  const own = Object.keys(v);
  if (own.length !== keys.length) return false;
  for (let i = 0; i < own.length; i++) if (own[i] !== keys[i]) return false;
  return true;
}

/** An array JSON.stringify writes as the schema serializer does (no toJSON). */
const list = (v: unknown): v is unknown[] =>
  Array.isArray(v) && typeof (v as unknown as Doc).toJSON !== 'function';
const int = Number.isInteger as (v: unknown) => v is number;

function strings(v: unknown): boolean {
  if (!list(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}
function holderCounts(v: unknown): boolean {
  if (!list(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const h = v[i];
    if (!keyed(h, HOLDER_KEYS) || typeof h.holder !== 'string' || !int(h.count)) return false;
  }
  return true;
}
/** A decoded value as decodeValue gives it: a string, strings, or u32 cells. */
function decoded(v: unknown): boolean {
  if (typeof v === 'string') return true;
  if (!list(v)) return false;
  if (v.length === 0) return true;
  if (typeof v[0] === 'string') return strings(v);
  for (let i = 0; i < v.length; i++) if (!int(v[i])) return false;
  return true;
}

/** `p` if it is a property document in schema order, a copy in schema order, or null. */
function propertyDoc(p: unknown): Doc | null {
  if (typeof p !== 'object' || p === null || Array.isArray(p) || typeof (p as Doc).toJSON === 'function')
    return null;
  const d = p as Doc;
  const own = Object.keys(d);
  let inOrder = own.length >= 4 && own.length <= 6;
  for (let i = 0; inOrder && i < own.length; i++) inOrder = own[i] === PROPERTY_KEYS[i];
  // Schema order with u64 and no value (name, length, hex, type, u64) is the one other shape kept.
  if (!inOrder && own.length === 5 && own[4] === 'u64')
    inOrder = own[0] === 'name' && own[1] === 'length' && own[2] === 'hex' && own[3] === 'type';
  let u64First = false;
  if (!inOrder) {
    u64First = own.length === 6;
    for (let i = 0; u64First && i < 6; i++) u64First = own[i] === PROPERTY_KEYS_U64_FIRST[i];
    if (!u64First) return null;
  }
  if (typeof d.name !== 'string' || !int(d.length) || typeof d.hex !== 'string' || typeof d.type !== 'string')
    return null;
  if (d.value !== undefined && !decoded(d.value)) return null;
  if (d.u64 !== undefined && !strings(d.u64)) return null;
  if (!u64First) return d;
  return { name: d.name, length: d.length, hex: d.hex, type: d.type, value: d.value, u64: d.u64 };
}

/**
 * The JSON of a node document, byte for byte what the `NodeDoc` schema's serializer writes, or null
 * when `doc` is not shaped as nodeDocument builds it (then use the schema's serializer).
 */
export function nodeDocJson(doc: unknown): string | null {
  if (!keyed(doc, NODE_KEYS)) return null;
  const d = doc;
  if (
    typeof d.address !== 'string' ||
    typeof d.name !== 'string' ||
    typeof d.type !== 'string' ||
    typeof d.fullName !== 'string' ||
    (d.path !== null && typeof d.path !== 'string') ||
    typeof d.lastKnownPath !== 'string' ||
    typeof d.phandle !== 'string' ||
    typeof d.state !== 'string' ||
    !(int(d.refcount) || d.refcount === 'saturated') ||
    !strings(d.flags) ||
    !holderCounts(d.holders) ||
    !holderCounts(d.unbalancedPuts) ||
    (d.parent !== null && typeof d.parent !== 'string')
  )
    return null;
  const sysfs = d.sysfs;
  if (
    !keyed(sysfs, SYSFS_KEYS) ||
    typeof sysfs.inSysfs !== 'boolean' ||
    (sysfs.name !== null && typeof sysfs.name !== 'string')
  )
    return null;
  const freed = d.freed;
  if (
    freed !== null &&
    !(
      keyed(freed, FREED_KEYS) &&
      typeof freed.comm === 'string' &&
      int(freed.pid) &&
      typeof freed.trace === 'string' &&
      int(freed.usec)
    )
  )
    return null;
  const dead = d.deadProperties;
  if (!list(dead)) return null;
  for (let i = 0; i < dead.length; i++) {
    const p = dead[i];
    if (
      !keyed(p, DEAD_PROPERTY_KEYS) ||
      typeof p.name !== 'string' ||
      !int(p.length) ||
      typeof p.hex !== 'string'
    )
      return null;
  }
  const children = d.children;
  if (!list(children)) return null;
  for (let i = 0; i < children.length; i++) {
    const c = children[i];
    if (
      !keyed(c, CHILD_KEYS) ||
      typeof c.name !== 'string' ||
      typeof c.address !== 'string' ||
      typeof c.state !== 'string'
    )
      return null;
  }
  const props = d.properties;
  if (!list(props)) return null;
  let copy: unknown[] | null = null;
  for (let i = 0; i < props.length; i++) {
    const p = propertyDoc(props[i]);
    if (p === null) return null;
    if (p !== props[i]) copy ??= props.slice();
    if (copy) copy[i] = p;
  }
  return JSON.stringify(copy ? { ...d, properties: copy } : d);
}
