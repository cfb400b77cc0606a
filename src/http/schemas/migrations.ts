import { Type } from '@sinclair/typebox';
import { Open, Phandle, StringEnum } from './common.ts';
import { PropertyValue } from './nodes.ts';

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

export const MigrationDoc = Open({
  id: Type.String(),
  lpar: Type.String(),
  source: Type.String(),
  destination: Type.String(),
  dryRun: Type.Boolean(),
  state: StringEnum(['running', 'completed', 'failed'] as const),
  requestedAt: Type.String(),
  workList: Type.Array(Open({ action: Type.String(), phandle: Type.Integer() })),
  workAreas: Type.Integer(),
  report: Type.Union([Open({}), Type.Null()]),
});
