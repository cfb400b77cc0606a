// Managed systems: the POWER servers an LPAR runs on and migrates between. Each has its own values for
// the properties that differ per machine (spec/pseries-tree.md, "What a destination system hands
// back"). Pure data; the firmware model (firmware.ts) turns it into RTAS answers.

export type Processor = 'POWER9' | 'POWER10';

export interface ManagedSystem {
  readonly name: string;
  readonly processor: Processor;
  /** Machine type-model, as in `compatible` and `ibm,loc-code`. */
  readonly machineType: string;
  /** 7 hex digits: the serial in `system-id` and location codes. */
  readonly serial: string;
  /** `ibm,shared-interrupt-pool` of the platform facilities: the value that really differs. */
  readonly sharedInterruptPool: number;
  /** Base of the platform facilities' `ibm,resource-id` values. */
  readonly resourceIdBase: number;
  /** Associativity index the LMBs of `ibm,dynamic-memory` get on this machine. */
  readonly memoryAssociativityIndex: number;
  /** Whether firmware deletes and re-adds the l2/l3 cache nodes after a migration to this system. */
  readonly readdCacheNodes: boolean;
  /** Whether the system was created over the API (built-ins cannot be replaced). */
  readonly builtin: boolean;
}

/** What a user describing a new system must give; the rest defaults as a typical system of its processor has it. */
export type SystemSpec = Pick<ManagedSystem, 'name' | 'processor' | 'serial'> &
  Partial<Omit<ManagedSystem, 'name' | 'processor' | 'serial' | 'builtin'>>;

/** A managed system added by a user (not built in), with the defaults of its processor for what it leaves out. */
export function userSystem(spec: SystemSpec): ManagedSystem {
  return {
    name: spec.name,
    processor: spec.processor,
    machineType: spec.machineType ?? (spec.processor === 'POWER9' ? '9009-42A' : '9080-HEX'),
    serial: spec.serial,
    sharedInterruptPool: spec.sharedInterruptPool ?? 0x1,
    resourceIdBase: spec.resourceIdBase ?? 0x2d0000,
    memoryAssociativityIndex: spec.memoryAssociativityIndex ?? 0,
    readdCacheNodes: spec.readdCacheNodes ?? false,
    builtin: false,
  };
}

export const BUILTIN_SYSTEMS: readonly ManagedSystem[] = [
  {
    name: 'p9-alpha',
    processor: 'POWER9',
    machineType: '9009-42A',
    serial: '7843A1B',
    sharedInterruptPool: 0x1,
    resourceIdBase: 0x2d0000,
    memoryAssociativityIndex: 0,
    readdCacheNodes: false,
    builtin: true,
  },
  {
    name: 'p9-beta',
    processor: 'POWER9',
    machineType: '9009-42A',
    serial: '7843C2D',
    sharedInterruptPool: 0x2,
    resourceIdBase: 0x2e0000,
    memoryAssociativityIndex: 1,
    readdCacheNodes: false,
    builtin: true,
  },
  {
    name: 'p10-alpha',
    processor: 'POWER10',
    machineType: '9080-HEX',
    serial: '13F0A45',
    sharedInterruptPool: 0x3,
    resourceIdBase: 0x3a0000,
    memoryAssociativityIndex: 0,
    readdCacheNodes: false,
    builtin: true,
  },
];

/** Where an LPAR of each tree profile starts. */
export const HOME_SYSTEM: Readonly<Record<Processor, string>> = { POWER9: 'p9-alpha', POWER10: 'p10-alpha' };
