// Whole-tree exports of one LPAR: the sysfs tarball, the flattened tree and its source. All three are
// inspections: they read the attached tree and run no kernel code.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { sysfsTar } from '../../lpar/sysfs-tar.ts';
import { toDts } from '../../of/dts.ts';
import { type FdtReserveEntry, fdtEncode, NO_BOOT_PARAMS } from '../../of/fdt.ts';
import { ofFlattenLiveTree } from '../../of/unflatten.ts';
import { LparId, problemResponses } from '../schemas/common.ts';

/**
 * `/memreserve/` lines as `dtc -O dts` prints them (treesource.c dt_to_source: after `/dts-v1/;` and a
 * blank line, a tab, address and size as 0x%016llx), just before the root node `/ {`.
 */
function withMemreserve(dts: string, reservations: readonly FdtReserveEntry[]): string {
  if (reservations.length === 0) return dts;
  const hex = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
  const lines = reservations.map((r) => `/memreserve/\t${hex(r.address)} ${hex(r.size)};\n`).join('');
  const root = dts.startsWith('/ {\n') ? 0 : dts.indexOf('\n/ {\n') + 1;
  return `${dts.slice(0, root)}${lines}${dts.slice(root)}`;
}

export const exportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const params = Type.Object({ lpar: LparId });
  app.get(
    '/v1/lpars/:lpar/sysfs.tar',
    {
      schema: {
        tags: ['views'],
        summary: '/sys/firmware/devicetree/base as a tar archive (for dtc -I fs)',
        description:
          'Inspection (no side effects): every directory and property file at one instant, values copied.',
        params,
        produces: ['application/x-tar'],
        response: { 200: Type.String({ format: 'binary' }), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = app.registry.get(req.params.lpar);
      return reply
        .type('application/x-tar')
        .header('content-disposition', `attachment; filename="${lpar.config.id}-sysfs.tar"`)
        .send(sysfsTar(lpar));
    },
  );
  app.get(
    '/v1/lpars/:lpar/tree.dtb',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as a flattened device tree',
        description:
          "Inspection (no side effects): the attached tree, with the boot blob's memory reservations and boot CPU.",
        params,
        produces: ['application/octet-stream'],
        response: { 200: Type.String({ format: 'binary' }), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = app.registry.get(req.params.lpar);
      // An uploaded blob's reservations and boot CPU go back out; a built-in tree has none, CPU 0.
      const boot = lpar.config.bootParams ?? NO_BOOT_PARAMS;
      return reply
        .type('application/octet-stream')
        .send(Buffer.from(fdtEncode(ofFlattenLiveTree(lpar.of.root!), boot)));
    },
  );
  app.get(
    '/v1/lpars/:lpar/tree.dts',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as device tree source',
        description: 'Inspection (no side effects): the attached tree as dtc would print it.',
        params,
        produces: ['text/plain'],
        response: { 200: Type.String(), ...problemResponses },
      },
    },
    async (req, reply) => {
      const lpar = app.registry.get(req.params.lpar);
      const reservations = (lpar.config.bootParams ?? NO_BOOT_PARAMS).reservations;
      return reply
        .type('text/plain; charset=utf-8')
        .send(withMemreserve(toDts(ofFlattenLiveTree(lpar.of.root!)), reservations));
    },
  );
};
