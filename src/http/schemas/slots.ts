// POST /v1/lpars/{lpar}/sys/bus/pci/slots/control/add_slot|remove_slot: drmgr's write(2) of a drc name
// to rpadlpar's files (K-SLOT), and the vio devices the kernel registered or unregistered.

import { Type } from '@sinclair/typebox';
import { Closed, Ref, StringEnum } from './common.ts';
import { Counts } from './lpars.ts';
import { LeakedNode } from './nodes.ts';

const SlotDeviceDoc = Closed(
  {
    device: Type.String({
      description: "the vio device's name: its unit address in hex (the node name under platform-facilities)",
    }),
    node: Type.String({ description: 'the path of the node the device holds (as it was attached)' }),
    nodeState: Type.String({
      description: "that node's state after the write (attached, detached, freed, …)",
    }),
  },
  { description: 'a vio device the write registered or unregistered' },
);

export const SlotWriteDoc = Closed(
  {
    lpar: Type.String(),
    file: StringEnum(['add_slot', 'remove_slot'] as const),
    drcName: Type.Union([Type.String(), Type.Null()], {
      description:
        'the drc name the store read: the bytes up to the first newline or NUL; null for a write of MAX_DRC_NAME_LEN (64) bytes or more, which the store answers 0 without doing anything',
    }),
    rc: Type.Integer({
      minimum: 0,
      description: "write(2)'s answer: the bytes written, or 0 for a name too long to take",
    }),
    report: Closed({
      registered: Type.Array(SlotDeviceDoc, { description: 'vio devices the write registered' }),
      unregistered: Type.Array(SlotDeviceDoc, { description: 'vio devices the write unregistered' }),
      dmesg: Type.Array(Type.String(), { description: 'the kernel log lines the write printed' }),
      leakedNodes: Type.Array(Ref(LeakedNode), { description: "the LPAR's leaked nodes after the write" }),
      countsDelta: Ref(Counts, { description: 'counts after the write less counts before it' }),
      simulatedUsec: Type.Integer({ description: 'simulated time the write took' }),
    }),
  },
  {
    $id: 'SlotWrite',
    description: 'A write to /sys/bus/pci/slots/control/add_slot or remove_slot that the kernel carried out',
  },
);
