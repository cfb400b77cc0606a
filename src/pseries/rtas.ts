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

/** The sensor and indicators the DLPAR code drives around an add or a remove (dlpar.c). */
export interface HotplugRtas extends Rtas {
  /** get-sensor-state: the RTAS status and the sensor's value. */
  getSensorState(sensor: number, index: number): { readonly rc: number; readonly state: number };
  /** set-indicator (rtas_set_indicator): 0 or an RTAS status. */
  setIndicator(indicator: number, index: number, value: number): number;
}

// dlpar.c's sensor and indicator tokens and values
export const DR_ENTITY_SENSE = 9003;
export const DR_ENTITY_PRESENT = 1;
export const DR_ENTITY_UNUSABLE = 2;
export const ALLOCATION_STATE = 9003;
export const ALLOC_UNUSABLE = 0;
export const ALLOC_USABLE = 1;
export const ISOLATION_STATE = 9001;
export const ISOLATE = 0;
export const UNISOLATE = 1;
