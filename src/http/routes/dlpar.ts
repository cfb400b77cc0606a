// /sys/kernel/dlpar (issue 14 point 2, K-DLPAR-4): the write(2) drmgr makes with one DLPAR command,
// `cpu add index 0x10000008`, `memory remove count 4`. A kernel action as task drmgr (journaled and
// replayed like any write). Reading the file is the /sys view's (GET …/sys/kernel/dlpar).
//
// write(2)'s negative answer is what drmgr sees, so it is the answer here too: problem+json carrying
// `errno`, `errnoValue`, `rc` and the `dmesg` lines the write printed (they stay in dmesg). The status
// follows the overlay routes' rule: ENODEV (no such connector or node) 404, EBUSY (an LMB that will
// not go offline) and ENOSPC (no free CPU ids in the possible map) 409, EINVAL and any other 422,
// since the service understood the request and the kernel refused it.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { DlparResult } from '../../lpar/dlpar.ts';
import { kernelRefused, type LparError } from '../../lpar/errors.ts';
import type { Lpar } from '../../lpar/lpar.ts';
import { LparId, RawBody, Ref } from '../schemas/common.ts';
import { DlparWriteDoc } from '../schemas/dlpar.ts';
import { sysfsWriteBytes } from '../sysfs-write.ts';
import { oneWriteLimit } from '../write-limit.ts';

/** The status an HTTP caller expects for the kernel's errno (the overlay routes' rule). */
function errnoStatus(errno: string): 404 | 409 | 422 {
  if (errno === 'ENODEV') return 404;
  if (errno === 'EBUSY' || errno === 'ENOSPC') return 409;
  return 422;
}

function refused(lpar: Lpar, r: DlparResult): LparError {
  return kernelRefused({
    lpar: lpar.config.id,
    what: `dlpar ${r.request ? `${r.request.resource} ${r.request.action}` : 'request'}`,
    call: 'write(2) to /sys/kernel/dlpar',
    rc: r.rc,
    dmesg: r.report.dmesg,
    status: errnoStatus(r.errno ?? `E${-r.rc}`),
  });
}

/** Bytes of the new ibm,dynamic-memory a memory request writes back (the old value stays, dead). */
function drmemBytes(lpar: Lpar): number {
  const o = lpar.config.treeOptions;
  const lmbs = o ? Math.floor(((o.memoryGiB + (o.spareMemoryGiB ?? 0)) * 1024) / 256) : 0;
  return 4 + 24 * lmbs;
}

export const dlparRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // A command is parsed in one piece, like an ofdt write: the same, smaller body limit.
  const limited = oneWriteLimit(app.lparsimConfig);
  app.post(
    '/sys/kernel/dlpar',
    {
      ...limited,
      schema: {
        tags: ['edits'],
        summary: 'One write(2) to /sys/kernel/dlpar (a DLPAR request, as drmgr makes it)',
        description:
          "Kernel action as task `drmgr`: models dlpar_store (docs/kernel-model.md K-DLPAR-4) on the exact command drmgr writes, `<resource> <action> <id_type> <id>`: `cpu|memory add|remove count|index|indexed-count …`, and on 6.12 `dt add|remove index …`, numbers as kstrtou32 base 0 (`cpu add index 0x10000008`, `memory add count 4`); no release takes pci, phb, slot or pmem (`Invalid resource specified.`, EINVAL). A 6.12 dt add builds the connector's nodes with configure-connector under the node whose ibm,drc-info lists the index (none: EIO) and attaches them by changeset; a dt remove detaches by changeset every node with that ibm,my-drc-index; neither registers or unregisters a vio device. A cpu add acquires the connector from the partition's firmware, builds the core with configure-connector, attaches it (dlpar_attach_node, the reconfig chain, pseries_smp_notifier) and onlines its threads; a remove offlines, releases and detaches; memory requests change the LMB flags and write ibm,dynamic-memory back. The connectors are those the create options `spareCores` and `spareMemoryGiB` offered, kept for the partition's life (a migration keeps them). The body is the command's bytes (text/plain or application/octet-stream; JSON is 415, an empty write 400). 200: `rc` is the bytes written, with the parsed request and a report. A negative rc answers problem+json with `errno`, `errnoValue`, `rc` and `dmesg` (the lines the write printed, also kept in dmesg): ENODEV 404, EBUSY and ENOSPC 409, EINVAL and the others 422. No room in the memory budget for the LMB table a memory request writes back is 507, before the kernel runs. Read the file with GET …/sys/kernel/dlpar.",
        params: Type.Object({ lpar: LparId }),
        consumes: ['text/plain', 'application/octet-stream'],
        body: RawBody('the exact bytes of one write(2) to /sys/kernel/dlpar'),
        response: {
          200: Ref(DlparWriteDoc),
          400: Type.Ref('Problem'),
          404: Type.Ref('Problem'),
          409: Type.Ref('Problem'),
          413: Type.Ref('Problem'),
          415: Type.Ref('Problem'),
          422: Type.Ref('Problem'),
          507: Type.Ref('Problem'),
        },
      },
    },
    async (req) => {
      const bytes = sysfsWriteBytes(req, 'a DLPAR request', 'dlpar_store');
      const command = new TextDecoder().decode(bytes);
      const lpar = req.lpar;
      const result = await lpar.exclusive(() => {
        const memory = /^memory /.test(command);
        if (memory)
          app.registry.assertMemoryFor(drmemBytes(lpar), `a DLPAR memory request on ${lpar.config.id}`);
        const r = lpar.dlpar(command);
        if (memory && r.rc > 0) app.registry.chargeGrowth(lpar, drmemBytes(lpar));
        return r;
      });
      req.log.info({ lpar: lpar.config.id, command, rc: result.rc }, 'dlpar');
      if (result.rc < 0 || !result.request) throw refused(lpar, result);
      return {
        lpar: lpar.config.id,
        command: result.command,
        rc: result.rc,
        request: result.request,
        report: result.report,
      };
    },
  );
};
