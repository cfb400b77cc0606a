import { Type } from '@sinclair/typebox';
import { NODE_STATES } from '../../of/node.ts';
import { Address, Closed, Items, Phandle, PhandleHex, Ref, StringEnum } from './common.ts';
import { CacheSlot } from './kernel.ts';
import { Counts } from './lpars.ts';
import { LeakedNode, PropertyValue } from './nodes.ts';

export const FirmwareUpdateBody = Type.Object(
  {
    action: StringEnum(['delete', 'update', 'add'] as const),
    phandle: Phandle,
    drc: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 0xffffffff,
        description: 'for add: the connector whose subtree firmware configures',
      }),
    ),
    properties: Type.Optional(
      Type.Array(
        Type.Union([
          PropertyValue,
          Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 255 }), remove: Type.Literal(true) },
            { additionalProperties: false },
          ),
        ]),
        { maxItems: 4096 },
      ),
    ),
  },
  { additionalProperties: false },
);

export const FaultBody = Type.Object(
  {
    call: StringEnum([
      'ibm,activate-firmware',
      'ibm,update-nodes',
      'ibm,update-properties',
      'ibm,configure-connector',
    ] as const),
    onCall: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      description: 'the 1-based call of that function that fails',
    }),
    status: Type.Integer({
      minimum: -99_999,
      maximum: -1,
      description: 'RTAS status, e.g. -2 busy, -9001 hardware error, -9003 configuration error',
    }),
  },
  { additionalProperties: false },
);

export const MigrationBody = Type.Object(
  {
    destination: Type.String({ minLength: 1, maxLength: 64, description: 'managed system to migrate to' }),
    dryRun: Type.Optional(
      Type.Boolean({ description: 'return the work list firmware would send; change nothing' }),
    ),
    updates: Type.Optional(
      Type.Array(FirmwareUpdateBody, {
        maxItems: 100_000,
        description: 'an explicit work list instead of what the destination sends',
      }),
    ),
    faults: Type.Optional(Type.Array(FaultBody, { maxItems: 64 })),
  },
  { additionalProperties: false },
);

const Action = StringEnum(['delete', 'update', 'add'] as const);
const NodeStateName = StringEnum(NODE_STATES);

/** One entry of an ibm,update-nodes work list and what the kernel made of it (migrations, PRRN). */
export const WORK_LIST_OPERATION = {
  action: StringEnum(['delete', 'update', 'add', 'unknown'] as const),
  phandle: PhandleHex,
  drc: Type.Optional(Type.Integer()),
  node: Type.Union(
    [
      Closed({
        address: Address,
        path: Type.String({ description: 'its path when the lookup found it' }),
        state: NodeStateName,
      }),
      Type.Null(),
    ],
    { description: 'the node the lookup resolved to (null: none), with its state now' },
  ),
  outcome: StringEnum(['done', 'not-found', 'ignored', 'failed'] as const),
  added: Type.Optional(Type.String({ description: 'for add: the new top node (address)' })),
};

/** One RTAS call a kernel action made, as lpar/migrations.ts firmwareCall reports it (migrations, PRRN, DLPAR). */
export const FirmwareCall = Closed({
  call: Type.String(),
  status: Type.Integer(),
  phandle: Type.Optional({
    ...PhandleHex,
    description: 'ibm,update-properties: the node it asked for',
  }),
  drc: Type.Optional(Type.Integer({ description: 'ibm,configure-connector: the connector' })),
  arg: Type.Optional(
    Type.Integer({ deprecated: true, description: 'deprecated: the phandle or drc, as a number' }),
  ),
});

/** What a migration did, as post_mobility_fixup ran it (absent from a dry run). */
export const MigrationReport = Closed(
  {
    rc: Type.Integer({ description: "the migration's return code: 0, or the RTAS error it stopped on" }),
    operations: Type.Array(Closed(WORK_LIST_OPERATION), {
      description: 'each entry of the work list and what the kernel made of it',
    }),
    firmwareCalls: Type.Array(FirmwareCall, { description: 'every RTAS call the kernel made, in order' }),
    dmesg: Type.Array(Type.String(), { description: 'the kernel log lines the migration printed' }),
    renames: Type.Array(Closed({ directory: Type.String(), from: Type.String(), to: Type.String() }), {
      description: 'sysfs directories renamed (safe_name)',
    }),
    leakedNodes: Type.Array(Ref(LeakedNode), {
      description: 'every leaked node after the migration, as GET …/leaks lists them (address order)',
    }),
    staleCacheSlots: Type.Array(Ref(CacheSlot), {
      description: 'the stale cache entries after the migration: slots naming a node that is not attached',
    }),
    counts: Ref(Counts, { description: "the LPAR's counts right after the migration" }),
    countsDelta: Ref(Counts, {
      description:
        'what the migration changed: counts after it less counts before it (its warnings, use-after-free hits, renames, nodes it allocated; a state count can fall)',
    }),
    simulatedUsec: Type.Integer({ description: 'simulated kernel time the migration took' }),
    durationMs: Type.Number({ description: 'real time the simulation took' }),
    // Deprecated aliases, kept one release (docs/api.md).
    leftDetached: Type.Array(Ref(LeakedNode), {
      deprecated: true,
      description: 'deprecated: the leakedNodes whose state is not orphaned',
    }),
    orphaned: Type.Array(Ref(LeakedNode), {
      deprecated: true,
      description: 'deprecated: the leakedNodes whose state is orphaned (counts.orphaned counts them)',
    }),
    staleCacheEntries: Type.Array(Ref(CacheSlot), {
      deprecated: true,
      description: 'deprecated: staleCacheSlots',
    }),
    useAfterFree: Type.Integer({ deprecated: true, description: 'deprecated: countsDelta.useAfterFree' }),
    warnings: Type.Integer({ deprecated: true, description: 'deprecated: countsDelta.warnings' }),
    sysfsRenames: Type.Integer({ deprecated: true, description: 'deprecated: countsDelta.sysfsRenames' }),
  },
  { $id: 'MigrationReport' },
);

export const MigrationDoc = Closed(
  {
    id: Type.String(),
    lpar: Type.String(),
    source: Type.String(),
    destination: Type.String(),
    dryRun: Type.Boolean(),
    state: StringEnum(['running', 'completed', 'failed'] as const),
    requestedAt: Type.String(),
    workList: Type.Array(
      Closed({
        action: Action,
        phandle: PhandleHex,
        drc: Type.Optional(Type.Integer()),
        properties: Type.Optional(Type.Array(Type.String(), { description: 'the names it sets or removes' })),
      }),
      { description: 'the decoded ibm,update-nodes list firmware sends' },
    ),
    workAreas: Type.Integer(),
    report: Type.Union([Ref(MigrationReport), Type.Null()], { description: 'null for a dry run' }),
  },
  { $id: 'Migration' },
);

export const MigrationList = Items(Ref(MigrationDoc), { $id: 'MigrationList' });
