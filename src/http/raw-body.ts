// Raw request bodies (DTB uploads, overlays, ofdt and DLPAR writes, histories) as one Buffer, copied
// into place as each chunk arrives. fastify's own `parseAs: 'buffer'` keeps the chunks and joins them
// with one Buffer.concat at the end: for a 60 MB tree.dtb that one copy, with the page faults of its
// fresh memory, held the event loop for some 85 ms (issue 10 point 3, /healthz during an upload).
// With a Content-Length the buffer is allocated once and filled chunk by chunk; without one it grows
// by doubling, each copy bounded by what has arrived.

import type { FastifyRequest } from 'fastify';
import fastify from 'fastify';

const { FST_ERR_CTP_BODY_TOO_LARGE, FST_ERR_CTP_INVALID_CONTENT_LENGTH } = fastify.errorCodes;

/** The first allocation of a body sent without Content-Length. */
const INITIAL_CHUNKED_BYTES = 64 * 1024;

type Done = (err: Error | null, body?: Buffer) => void;

/** A fastify content-type parser (stream form) giving the body as a Buffer within the route's limit. */
export function rawBodyParser(req: FastifyRequest, payload: NodeJS.ReadableStream, done: Done): void {
  const limit = req.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  const header = req.headers['content-length'];
  const declared = header === undefined ? Number.NaN : Number(header);
  if (declared > limit) {
    done(new FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  let buffer = Buffer.allocUnsafe(Number.isNaN(declared) ? INITIAL_CHUNKED_BYTES : declared);
  let received = 0;
  let finished = false;

  const finish = (err: Error | null, body?: Buffer) => {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    done(err, body);
  };
  const onData = (data: Buffer | string) => {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (received + chunk.length > limit) {
      finish(new FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    if (received + chunk.length > buffer.length) {
      // More than declared: the length check at the end refuses it; keep counting, stop copying.
      if (!Number.isNaN(declared)) {
        received += chunk.length;
        return;
      }
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(2 * buffer.length, received + chunk.length)));
      buffer.copy(grown, 0, 0, received);
      buffer = grown;
    }
    chunk.copy(buffer, received);
    received += chunk.length;
  };
  const onEnd = () => {
    if (!Number.isNaN(declared) && received !== declared) {
      finish(new FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    finish(null, received === buffer.length ? buffer : buffer.subarray(0, received));
  };
  const onError = (err: Error & { statusCode?: number }) => {
    if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
    finish(err);
  };
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}
