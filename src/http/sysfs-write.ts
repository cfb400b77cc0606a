// The body of a route that models one write(2) to a sysfs file (/sys/kernel/dlpar, rpadlpar's slot
// files): the bytes as written. A body fastify parsed (JSON) is not what drmgr writes (415), and
// sysfs_kf_write answers an empty write 0 without calling the store (400: nothing for the kernel).

import type { FastifyRequest } from 'fastify';
import { badRequest, LparError } from '../lpar/errors.ts';

/** The written bytes, or the problem for a body that is not one write's bytes. */
export function sysfsWriteBytes(req: FastifyRequest, what: string, store: string): Uint8Array {
  const body = req.body as unknown;
  if (body !== undefined && !(body instanceof Uint8Array))
    throw new LparError(
      'unsupported-media-type',
      'Unsupported media type',
      `${what} is the bytes of one write(2): send text/plain or application/octet-stream, not ${JSON.stringify(String(req.headers['content-type'] ?? ''))}`,
    );
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(0);
  if (bytes.length === 0)
    throw badRequest('Empty write', `an empty write(2) never reaches ${store}: send ${what}`);
  return bytes;
}
