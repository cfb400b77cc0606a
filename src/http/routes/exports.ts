// Whole-tree exports of one LPAR: the sysfs tarball, the flattened tree and its source. All three are
// inspections: they read the attached tree and run no kernel code.
//
// Each streams: chunks are made as the client reads them (backpressure), with the event loop let run
// every SLICE_MS of work, so a quarter-million-node export neither blocks other requests nor holds the
// whole archive in memory. An export holds the LPAR's operation queue (Lpar.exclusive) from its first
// chunk to its last, so the tree it walks is the tree at one instant: ofdt writes and migrations on
// that LPAR wait for it, while reads and other LPARs go on.

import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Lpar } from '../../lpar/lpar.ts';
import { slicedChunks } from '../../lpar/registry.ts';
import { sysfsTarChunks } from '../../lpar/sysfs-tar.ts';
import { dtsChunks } from '../../of/dts.ts';
import { fdtEncodeChunks, NO_BOOT_PARAMS } from '../../of/fdt.ts';
import { liveTree } from '../../of/unflatten.ts';
import { LparId, problemResponses } from '../schemas/common.ts';

/**
 * A stream of `chunks`, made while holding the LPAR's operation queue; the queue is let go when the
 * stream ends, fails or is destroyed (a client that goes away), whichever comes first.
 */
function exclusiveStream<C extends Uint8Array | string>(
  lpar: Lpar,
  chunks: () => Generator<C | null, void, undefined>,
): Readable {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = new Promise<void>((resolve) => {
    void lpar.exclusive(() => {
      resolve();
      return released;
    });
  });
  async function* body(): AsyncGenerator<C, void, undefined> {
    try {
      await held;
      yield* slicedChunks(chunks());
    } finally {
      release();
    }
  }
  const stream = Readable.from(body(), { objectMode: false });
  stream.once('close', release);
  return stream;
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
          'Inspection (no side effects): every directory and property file at one instant, values copied. Streamed as it is read; ofdt writes and migrations on this LPAR wait until it ends.',
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
        .send(exclusiveStream(lpar, () => sysfsTarChunks(lpar)));
    },
  );
  app.get(
    '/v1/lpars/:lpar/tree.dtb',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as a flattened device tree',
        description:
          "Inspection (no side effects): the attached tree, with the boot blob's memory reservations and boot CPU. Streamed as it is read; ofdt writes and migrations on this LPAR wait until it ends. Under the default limits it can be sent back to POST /v1/lpars/from-dtb.",
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
        .send(exclusiveStream(lpar, () => fdtEncodeChunks(lpar.of.root!, liveTree, boot)));
    },
  );
  app.get(
    '/v1/lpars/:lpar/tree.dts',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as device tree source',
        description:
          'Inspection (no side effects): the attached tree as dtc would print it. Streamed as it is read; ofdt writes and migrations on this LPAR wait until it ends.',
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
        .send(exclusiveStream(lpar, () => dtsChunks(lpar.of.root!, liveTree, reservations)));
    },
  );
};
