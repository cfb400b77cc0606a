// Whole-tree exports of one LPAR: the sysfs tarball (plain, or gzip-compressed as sysfs.tar.gz or with
// `content-encoding: gzip` when Accept-Encoding allows it), the flattened tree and its source. All are
// inspections: they read the attached tree and run no kernel code.
//
// Each streams: chunks are made as the client reads them (backpressure), with the event loop let run
// every SLICE_MS of work, so a quarter-million-node export neither blocks other requests nor holds the
// whole archive in memory. An export holds the LPAR's operation queue (Lpar.exclusive) from its first
// chunk to its last, so the tree it walks is the tree at one instant: ofdt writes and migrations on
// that LPAR wait for it, while reads and other LPARs go on.
//
// Compression (src/http/gzip.ts) is node:zlib's gzip stream piped behind the archive: deflate runs on
// the libuv thread pool and backpressure reaches back through it to the tar generator, so a slow client
// slows the walk and neither the tar nor the gzip is ever held whole.

import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import type { Lpar } from '../../lpar/lpar.ts';
import { slicedChunks } from '../../lpar/registry.ts';
import { sysfsTarChunks } from '../../lpar/sysfs-tar.ts';
import { dtsChunks } from '../../of/dts.ts';
import { fdtEncodeChunks, NO_BOOT_PARAMS } from '../../of/fdt.ts';
import { liveTree } from '../../of/unflatten.ts';
import { negotiateGzip } from '../accept-encoding.ts';
import { gzipped } from '../gzip.ts';
import { lookOnlyRoutes } from '../journal.ts';
import { LparId } from '../schemas/common.ts';

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

/** A response schema with one media type and documented headers (OpenAPI 3.1 through @fastify/swagger). */
const bodyResponse = (
  mediaType: string,
  description: string,
  headers?: Record<string, TSchema>,
  schema: TSchema = Type.String({ format: 'binary' }),
) => ({ description, ...(headers ? { headers } : {}), content: { [mediaType]: { schema } } });

/** Problems are application/problem+json whatever the route's own media type. */
const problemResponse = {
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
};
const exportProblems = { 400: problemResponse, 404: problemResponse };

const attachment = (name: string) => Type.String({ description: `attachment; filename="{lpar}-${name}"` });

const SYSFS_TAR_DESCRIPTION =
  'Inspection (no side effects): every directory and property file at one instant, values copied. Streamed as it is read; ofdt writes and migrations on this LPAR wait until it ends.';

export const exportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  lookOnlyRoutes(app);
  const params = Type.Object({ lpar: LparId });
  app.get(
    '/sysfs.tar',
    {
      schema: {
        tags: ['views'],
        summary: '/sys/firmware/devicetree/base as a tar archive (for dtc -I fs)',
        description: `${SYSFS_TAR_DESCRIPTION} When Accept-Encoding allows gzip (q-values honoured: gzip;q=0 refuses it, * allows it, x-gzip is gzip), the archive is sent with content-encoding: gzip; without Accept-Encoding, or when identity is preferred, it is sent as it is. Every archive it sends carries vary: accept-encoding.`,
        params,
        headers: Type.Object({
          'accept-encoding': Type.Optional(
            Type.String({
              description: 'gzip (or *) for a gzip-compressed transfer; absent: the plain archive',
            }),
          ),
        }),
        response: {
          200: bodyResponse('application/x-tar', 'The archive, gzip-compressed when negotiated', {
            'content-disposition': attachment('sysfs.tar'),
            'content-encoding': Type.Literal('gzip', {
              description: 'Present when Accept-Encoding allowed gzip and the body is compressed',
            }),
            vary: Type.Literal('accept-encoding'),
          }),
          ...exportProblems,
        },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const tar = exclusiveStream(lpar, () => sysfsTarChunks(lpar));
      reply
        .type('application/x-tar')
        .header('content-disposition', `attachment; filename="${lpar.config.id}-sysfs.tar"`)
        .header('vary', 'accept-encoding');
      if (negotiateGzip(req.headers['accept-encoding']) === 'identity') return reply.send(tar);
      return reply.header('content-encoding', 'gzip').send(gzipped(tar));
    },
  );
  app.get(
    '/sysfs.tar.gz',
    {
      schema: {
        tags: ['views'],
        summary: '/sys/firmware/devicetree/base as a gzip-compressed tar archive',
        description: `${SYSFS_TAR_DESCRIPTION} The same archive as sysfs.tar, gzip-compressed as it streams (tar -xzf).`,
        params,
        response: {
          200: bodyResponse('application/gzip', 'The archive, gzip-compressed', {
            'content-disposition': attachment('sysfs.tar.gz'),
          }),
          ...exportProblems,
        },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      return reply
        .type('application/gzip')
        .header('content-disposition', `attachment; filename="${lpar.config.id}-sysfs.tar.gz"`)
        .send(gzipped(exclusiveStream(lpar, () => sysfsTarChunks(lpar))));
    },
  );
  app.get(
    '/tree.dtb',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as a flattened device tree',
        description:
          "Inspection (no side effects): the attached tree, with the boot blob's memory reservations and boot CPU. Streamed as it is read; ofdt writes and migrations on this LPAR wait until it ends. Under the default limits it can be sent back to POST /v1/lpars/from-dtb.",
        params,
        response: {
          200: bodyResponse('application/octet-stream', 'The flattened device tree blob'),
          ...exportProblems,
        },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      // An uploaded blob's reservations and boot CPU go back out; a built-in tree has none, CPU 0.
      const boot = lpar.config.bootParams ?? NO_BOOT_PARAMS;
      return reply
        .type('application/octet-stream')
        .send(exclusiveStream(lpar, () => fdtEncodeChunks(lpar.of.root!, liveTree, boot)));
    },
  );
  app.get(
    '/tree.dts',
    {
      schema: {
        tags: ['views'],
        summary: 'The attached tree as device tree source',
        description:
          'Inspection (no side effects): the attached tree as dtc would print it. Streamed as it is read; ofdt writes and migrations on this LPAR wait until it ends.',
        params,
        response: {
          200: bodyResponse('text/plain', 'Device tree source', undefined, Type.String()),
          ...exportProblems,
        },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const reservations = (lpar.config.bootParams ?? NO_BOOT_PARAMS).reservations;
      return reply
        .type('text/plain; charset=utf-8')
        .send(exclusiveStream(lpar, () => dtsChunks(lpar.of.root!, liveTree, reservations)));
    },
  );
};
