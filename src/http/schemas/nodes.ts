import { Type } from '@sinclair/typebox';
import { NODE_STATES } from '../../of/node.ts';
import { Holder, NodeRef, Open, Page, PageQuery, StringEnum } from './common.ts';

export const NodeState = StringEnum(NODE_STATES);

export const HolderCount = Type.Object({ holder: Type.String(), count: Type.Integer() });
export const Refcount = Type.Union([Type.Integer(), Type.Literal('saturated')]);

export const PropertyDoc = Open({
  name: Type.String(),
  length: Type.Integer(),
  hex: Type.String(),
  type: Type.String({ description: 'empty | string | strings | u32 | bytes' }),
  value: Type.Optional(Type.Unknown()),
  u64: Type.Optional(
    Type.Array(Type.String(), {
      description: 'the value as big-endian u64 cells (hex), when 8-byte aligned',
    }),
  ),
});

export const NodeDoc = Open({
  address: Type.String(),
  name: Type.String(),
  type: Type.String(),
  fullName: Type.String(),
  path: Type.Union([Type.String(), Type.Null()], { description: 'null unless attached' }),
  lastKnownPath: Type.String({ description: 'the path %pOF prints, by parent pointers' }),
  phandle: Type.Integer(),
  state: NodeState,
  refcount: Refcount,
  flags: Type.Array(Type.String()),
  holders: Type.Array(HolderCount),
  unbalancedPuts: Type.Array(HolderCount),
  sysfs: Open({ inSysfs: Type.Boolean(), name: Type.Union([Type.String(), Type.Null()]) }),
  parent: Type.Union([Type.String(), Type.Null()]),
  freed: Type.Union([
    Open({ comm: Type.String(), pid: Type.Integer(), trace: Type.String(), usec: Type.Integer() }),
    Type.Null(),
  ]),
  properties: Type.Array(PropertyDoc),
  deadProperties: Type.Array(Open({ name: Type.String(), length: Type.Integer(), hex: Type.String() })),
  children: Type.Array(Open({ name: Type.String(), address: Type.String(), state: NodeState })),
});

export const NodeSummary = Open({
  address: Type.String(),
  fullName: Type.String(),
  path: Type.Union([Type.String(), Type.Null()]),
  lastKnownPath: Type.String(),
  phandle: Type.Integer(),
  state: NodeState,
  refcount: Refcount,
  flags: Type.Array(Type.String()),
  holders: Type.Array(HolderCount),
});

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
export const NodeSummaryPage = Page(NodeSummary, {
  total: Type.Integer({ description: 'nodes of that state (all nodes without `state`)' }),
});

export const LookupDoc = Open({
  phandle: Type.Integer(),
  how: Type.Union([Type.Literal('hit'), Type.Literal('miss'), Type.Literal('stale-hit')]),
  found: Type.Boolean(),
  slot: Type.Union([Type.Integer(), Type.Null()]),
  useAfterFree: Type.Boolean(),
  stale: Type.Boolean({ description: 'the node returned is not attached (detached, released or freed)' }),
  node: Type.Union([NodeDoc, Type.Null()]),
});

export const RefBody = Type.Object({ node: NodeRef, holder: Holder }, { additionalProperties: false });
export const RefDoc = Open({ id: Type.String(), holder: Type.String(), node: NodeSummary });

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

export const AddNodeBody = Type.Object(
  {
    path: Type.String({ minLength: 2, maxLength: 4096, pattern: '^/[\\x21-\\x7e]*$' }),
    properties: Type.Array(PropertyValue, { maxItems: 4096 }),
  },
  { additionalProperties: false },
);
export const PropertyBody = Type.Object(
  {
    phandle: Type.Union([
      Type.Integer({ minimum: 0, maximum: 0xffffffff }),
      Type.String({ pattern: '^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$' }),
    ]),
    property: PropertyValue,
  },
  { additionalProperties: false },
);
export const OfdtDoc = Open({ command: Type.String(), bytes: Type.Integer() });
