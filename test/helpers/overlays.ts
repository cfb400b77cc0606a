// Overlay blobs for API, CLI and property tests: the sources in test/fixtures/overlays compiled with
// `dtc -@`, as a user makes them (test/unit/overlay.test.ts does the same for the model).

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const OVERLAY_FIXTURES = fileURLToPath(new URL('../fixtures/overlays/', import.meta.url));

const blobs = new Map<string, Buffer>();

/** test/fixtures/overlays/<name>.dts as a DTB (`base` is the tree the labelled overlays expect). */
export function overlayBlob(name: string): Buffer {
  let b = blobs.get(name);
  if (!b) {
    b = execFileSync('dtc', ['-@', '-q', '-I', 'dts', '-O', 'dtb', `${OVERLAY_FIXTURES}${name}.dts`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    blobs.set(name, b);
  }
  return b;
}
