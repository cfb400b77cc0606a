// /sys/bus/pci/slots/control/add_slot and remove_slot (K-SLOT): the write(2) drmgr makes with a virtual
// I/O slot's drc name, after adding the slot's nodes or before removing them. A kernel action as task
// drmgr (journaled and replayed like any write). Reading the files is the /sys view's.
//
// A negative rc answers problem+json with `errno`, `errnoValue`, `rc` and the `dmesg` lines, by the
// DLPAR route's rule: ENODEV (no node has that drc name) 404, EINVAL (a device already registered, or
// none to remove) and EIO 422. A drc name that names a PCI slot or PHB is 422 before the kernel runs.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { kernelRefused, type LparError } from '../../lpar/errors.ts';
import type { SlotResult } from '../../lpar/slots.ts';
import type { SlotFile } from '../../pseries/rpadlpar.ts';
import { LparId, RawBody, Ref } from '../schemas/common.ts';
import { SlotWriteDoc } from '../schemas/slots.ts';
import { sysfsWriteBytes } from '../sysfs-write.ts';
import { oneWriteLimit } from '../write-limit.ts';

function refused(lpar: string, r: SlotResult): LparError {
  return kernelRefused({
    lpar,
    what: `${r.file} ${JSON.stringify(r.drcName)}`,
    call: `write(2) to /sys/bus/pci/slots/control/${r.file}`,
    rc: r.rc,
    dmesg: r.report.dmesg,
    status: r.errno === 'ENODEV' ? 404 : 422,
  });
}

const DESCRIPTIONS: Record<SlotFile, string> = {
  add_slot:
    "Kernel action as task `drmgr`: models rpadlpar's add_slot_store and dlpar_add_slot (docs/kernel-model.md K-SLOT-1) on the drc name drmgr writes after it has added a slot's nodes (ofdt add_node, or 6.12's `dt add`). The name is the bytes up to the first newline or NUL; a write of 64 bytes or more is answered rc 0 and does nothing. find_dlpar_node looks for a pci node of type SLOT, then PHB, then a child of /vdevice whose ibm,my-drc-index its parent lists with that name (the v1 lists, or ibm,drc-info on 5.8+ when the parent has one); then vio_find_node looks the device up by the name the node would give it (its reg in hex), and vio_register_device_node registers one if there is none. The kernel prints `rpadlpar_io: slot <name> added` whatever the result. Before 5.4 the node's and /vdevice's lookup references are never put (fb26228bfc4c).",
  remove_slot:
    "Kernel action as task `drmgr`: models rpadlpar's remove_slot_store and dlpar_remove_slot (docs/kernel-model.md K-SLOT-2) on the drc name drmgr writes before it removes a slot's nodes. The node is found as for add_slot; vio_find_node finds the device by name, so it may be a device that still holds an older node of that name (one a migration or a dt remove detached), and vio_unregister_device releases it, putting that node. The kernel prints `rpadlpar_io: slot <name> removed` whatever the result.",
};

export const slotRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const limited = oneWriteLimit(app.lparsimConfig);
  for (const file of ['add_slot', 'remove_slot'] as const) {
    app.post(
      `/sys/bus/pci/slots/control/${file}`,
      {
        ...limited,
        schema: {
          tags: ['edits'],
          summary: `One write(2) to /sys/bus/pci/slots/control/${file} (virtual I/O slot DLPAR, as drmgr makes it)`,
          description: `${DESCRIPTIONS[file]} The body is the written bytes (text/plain or application/octet-stream; JSON is 415, an empty write 400). 200: \`rc\` is the bytes written, with the drc name read and a report of the vio devices registered and unregistered. A negative rc answers problem+json with \`errno\`, \`errnoValue\`, \`rc\` and \`dmesg\` (the lines the write printed, also kept in dmesg): ENODEV 404, EINVAL and EIO 422. A name that matches a PCI slot or PHB is 422 before the kernel runs (PCI hotplug is not modelled).`,
          params: Type.Object({ lpar: LparId }),
          consumes: ['text/plain', 'application/octet-stream'],
          body: RawBody(`the exact bytes of one write(2) to ${file}: a drc name`),
          response: {
            200: Ref(SlotWriteDoc),
            400: Type.Ref('Problem'),
            404: Type.Ref('Problem'),
            413: Type.Ref('Problem'),
            415: Type.Ref('Problem'),
            422: Type.Ref('Problem'),
          },
        },
      },
      async (req) => {
        const bytes = sysfsWriteBytes(req, 'a drc name', `${file}_store`);
        const lpar = req.lpar;
        const result = await lpar.exclusive(() => lpar.slot(file, bytes));
        req.log.info({ lpar: lpar.config.id, file, drcName: result.drcName, rc: result.rc }, 'slot');
        if (result.rc < 0) throw refused(lpar.config.id, result);
        return {
          lpar: lpar.config.id,
          file,
          drcName: result.drcName,
          rc: result.rc,
          report: result.report,
        };
      },
    );
  }
};
