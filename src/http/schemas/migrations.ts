import { Type } from '@sinclair/typebox';
import { NODE_STATES } from '../../of/node.ts';
import { Address, Closed, Items, Phandle, Ref, StringEnum } from './common.ts';
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

/** What a migration did, as post_mobility_fixup ran it (absent from a dry run). */
export const MigrationReport = Closed(
  {
    rc: Type.Integer({ description: "the migration's return code: 0, or the RTAS error it stopped on" }),
    operations: Type.Array(
      Closed({
        action: StringEnum(['delete', 'update', 'add', 'unknown'] as const),
        phandle: Type.Integer(),
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
      }),
      { description: 'each entry of the work list and what the kernel made of it' },
    ),
    firmwareCalls: Type.Array(
      Closed({ call: Type.String(), status: Type.Integer(), arg: Type.Optional(Type.Integer()) }),
      { description: 'every RTAS call the kernel made, in order' },
    ),
    dmesg: Type.Array(Type.String(), { description: 'the kernel log lines the migration printed' }),
    renames: Type.Array(Closed({ directory: Type.String(), from: Type.String(), to: Type.String() }), {
      description: 'sysfs directories renamed (safe_name)',
    }),
    leftDetached: Type.Array(Ref(LeakedNode), { description: 'leaked nodes that are not orphaned' }),
    orphaned: Type.Array(Ref(LeakedNode), { description: 'leaked nodes cut off with a detached parent' }),
    staleCacheEntries: Type.Array(
      Closed({ slot: Type.Integer(), phandle: Type.Integer(), address: Address, state: NodeStateName }),
    ),
    useAfterFree: Type.Integer({ description: 'use-after-free hits during the migration' }),
    warnings: Type.Integer({ description: 'WARNING blocks printed during the migration' }),
    sysfsRenames: Type.Integer(),
    counts: Closed(
      {
        attached: Type.Integer(),
        detached: Type.Integer(),
        released: Type.Integer(),
        freed: Type.Integer(),
        orphaned: Type.Integer(),
      },
      { description: 'nodes by state after the migration' },
    ),
    simulatedUsec: Type.Integer({ description: 'simulated kernel time the migration took' }),
    durationMs: Type.Number({ description: 'real time the simulation took' }),
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
        phandle: Type.Integer(),
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
