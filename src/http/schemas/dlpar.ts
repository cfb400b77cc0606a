// POST /v1/lpars/{lpar}/sys/kernel/dlpar: drmgr's write(2) of one DLPAR command (K-DLPAR-4), and what
// the kernel did with it.

import { Type } from '@sinclair/typebox';
import { Closed, Ref, StringEnum } from './common.ts';
import { Counts } from './lpars.ts';
import { FirmwareCall } from './migrations.ts';
import { LeakedNode } from './nodes.ts';

const DlparRequestDoc = Closed(
  {
    resource: StringEnum(['cpu', 'memory', 'dt'] as const),
    action: StringEnum(['add', 'remove'] as const),
    idType: StringEnum(['count', 'index', 'indexed-count'] as const),
    count: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    index: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'the DRC index (connector)' }),
    ),
  },
  { description: 'the request dlpar_store parsed from the command' },
);

export const DlparWriteDoc = Closed(
  {
    lpar: Type.String(),
    command: Type.String({ description: 'the command as written (the body, as UTF-8 text)' }),
    rc: Type.Integer({ minimum: 0, description: "write(2)'s answer: the bytes written" }),
    request: DlparRequestDoc,
    report: Closed({
      firmwareCalls: Type.Array(FirmwareCall, {
        description:
          'every RTAS call the kernel made, in order (get-sensor-state, set-indicator, ibm,configure-connector)',
      }),
      dmesg: Type.Array(Type.String(), { description: 'the kernel log lines the write printed' }),
      leakedNodes: Type.Array(Ref(LeakedNode), { description: "the LPAR's leaked nodes after the write" }),
      countsDelta: Ref(Counts, { description: 'counts after the write less counts before it' }),
      simulatedUsec: Type.Integer({ description: 'simulated time the write took' }),
    }),
  },
  { $id: 'DlparWrite', description: 'A write to /sys/kernel/dlpar that the kernel carried out' },
);
