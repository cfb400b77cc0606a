// gzip compression of a streamed export (src/http/routes/exports.ts): node:zlib's async gzip stream
// piped behind the source. zlib deflates each chunk on the libuv thread pool, so the event loop only
// hands chunks over, and the pipe carries backpressure back to the source: a client that does not read
// stops the compression, and then the source, with a few stream buffers filled; nothing is held whole.

import { pipeline, type Readable } from 'node:stream';
import { createGzip, type ZlibOptions } from 'node:zlib';

/**
 * `source` gzip-compressed as it is read. Destroying the result (a client that goes away) destroys
 * the source too, and an error on either side ends the result with it, where the reply reports it.
 */
export function gzipped(source: Readable, options: ZlibOptions = {}): Readable {
  const gzip = createGzip(options);
  pipeline(source, gzip, () => {}); // any error is on `gzip` as well: its reader sees it there
  return gzip;
}
