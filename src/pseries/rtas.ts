// The RTAS calls the kernel's pseries code makes after a migration. The kernel side (mobility.ts,
// dlpar.ts) sees only these answers and the bytes of the work areas; firmware.ts implements them.

import type { CcStep } from './firmware.ts';

export interface Rtas {
  /** ibm,activate-firmware: 0 or an RTAS status. */
  activateFirmware(): number;
  /** ibm,update-nodes: fills the work area; 1 while more follows, 0 at the end, negative on error. */
  updateNodes(buf: Uint8Array): number;
  /** ibm,update-properties for the phandle in the work area's first word. */
  updateProperties(buf: Uint8Array, nodePath: string): number;
  /** ibm,configure-connector: the next step of the subtree behind `drc`. */
  configureConnector(drc: number): CcStep;
}
