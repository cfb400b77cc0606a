// POST /v1/lpars/{lpar}/prrn: a PRRN event (K-PRRN) naming the nodes whose resources firmware moved.

import { Type } from '@sinclair/typebox';
import { Closed, Phandle, PhandleHex, Ref, StringEnum } from './common.ts';
import { CacheSlot } from './kernel.ts';
import { Counts } from './lpars.ts';
import { FaultBody, FirmwareCall, WORK_LIST_OPERATION } from './migrations.ts';
import { LeakedNode, PropertyValue } from './nodes.ts';

const Properties = Type.Optional(
  Type.Array(
    Type.Union([
      PropertyValue,
      Type.Object(
        { name: Type.String({ minLength: 1, maxLength: 255 }), remove: Type.Literal(true) },
        { additionalProperties: false },
      ),
    ]),
    {
      maxItems: 4096,
      description:
        'what ibm,update-properties hands back for the node (each value set, or removed); none: the node is named and nothing changes',
    },
  ),
);

export const PrrnNodeBody = Type.Union([
  Type.Object(
    {
      path: Type.String({
        minLength: 1,
        maxLength: 4096,
        description: 'an attached node; firmware names it by its phandle',
      }),
      properties: Properties,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      phandle: { ...Phandle, description: 'the phandle firmware puts in the list, whatever it names now' },
      properties: Properties,
    },
    { additionalProperties: false },
  ),
]);

export const PrrnBody = Type.Object(
  {
    nodes: Type.Array(PrrnNodeBody, {
      minItems: 1,
      maxItems: 100_000,
      description: 'the update entries of the ibm,update-nodes list firmware returns for the event, in order',
    }),
    scope: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 0x7fffffff,
        description:
          "the event's scope (its extended log length; PowerVM's is 2, the default). The kernel passes its negation to ibm,update-nodes; only -2 runs the old loop's prrn_update_node",
      }),
    ),
    faults: Type.Optional(Type.Array(FaultBody, { maxItems: 64 })),
  },
  { additionalProperties: false },
);

/** What the kernel did with the event: the migration report's members that apply to it. */
const PrrnReport = Closed({
  rc: Type.Integer({
    description: "pseries_devicetree_update's result (the kernel ignores it); 0 when not run",
  }),
  operations: Type.Array(
    Closed({
      ...WORK_LIST_OPERATION,
      prrn: Type.Optional(
        StringEnum(['found', 'lmb-readd'] as const, {
          description:
            "scope -2: prrn_update_node's lookup found a node (found), or found none, so the kernel would re-add the LMB with that DRC index (lmb-readd, not modelled)",
        }),
      ),
    }),
    { description: 'each entry of the work list and what the kernel made of it (empty when not handled)' },
  ),
  firmwareCalls: Type.Array(FirmwareCall, { description: 'every RTAS call the kernel made, in order' }),
  dmesg: Type.Array(Type.String(), { description: 'the kernel log lines the event printed' }),
  renames: Type.Array(Closed({ directory: Type.String(), from: Type.String(), to: Type.String() })),
  leakedNodes: Type.Array(Ref(LeakedNode)),
  staleCacheSlots: Type.Array(Ref(CacheSlot)),
  counts: Ref(Counts),
  countsDelta: Ref(Counts, { description: 'counts after the event less counts before it' }),
  simulatedUsec: Type.Integer(),
  durationMs: Type.Number(),
});

export const PrrnDoc = Closed({
  id: Type.String({ description: "p1, p2, …: the LPAR's PRRN events in order" }),
  lpar: Type.String(),
  system: Type.String({ description: 'the managed system the LPAR runs on (a PRRN does not move it)' }),
  scope: Type.Integer(),
  requestedAt: Type.String(),
  handling: StringEnum(['update', 'disabled', 'ignored'] as const, {
    description: "the kernel's prrnEvents switch (docs/kernel-model.md, K-PRRN)",
  }),
  handled: Type.Boolean({ description: 'the update loop ran' }),
  workList: Type.Array(
    Closed({
      action: StringEnum(['update'] as const),
      phandle: PhandleHex,
      properties: Type.Array(Type.String(), { description: 'the names it sets or removes' }),
    }),
    { description: 'the decoded ibm,update-nodes list firmware returns' },
  ),
  report: PrrnReport,
});
