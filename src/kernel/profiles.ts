// Kernel profiles as data: the switch table of spec/kernel-of.md section 1. Behaviour elsewhere reads
// these switches; nothing compares version numbers.

export type PhandleCacheModel = 'none' | 'pow2' | 'pow2-refs' | 'hash128';
export type RefcountModel = 'plain' | 'checked';
export type MobilityLookup = 'per-op' | 'central';
export type KernelName = '4.16' | '4.18' | '5.0' | '5.8' | '5.16';
export type PfoDevices = 'kernel' | 'fixed';

export interface KernelProfile {
  readonly name: KernelName;
  readonly phandleCache: PhandleCacheModel; // K-CACHE
  readonly sysfsHoldsRef: boolean; // K-SYSFS-5
  readonly dlparDetachPut: boolean; // K-DLPAR-3
  readonly refcount: RefcountModel; // K-REF-4
  readonly mobilityLookup: MobilityLookup; // K-MOB-2
  readonly skipPlatformFacilities: boolean; // K-MOB-7
  /** What each switch value is named after, for GET /v1/profiles. */
  readonly origin: string;
}

export const KERNEL_PROFILES: readonly KernelProfile[] = [
  {
    name: '4.16',
    phandleCache: 'none',
    sysfsHoldsRef: false,
    dlparDetachPut: false,
    refcount: 'plain',
    mobilityLookup: 'per-op',
    skipPlatformFacilities: false,
    origin: 'before the phandle cache (0b3ce78e90fc arrived in 4.17)',
  },
  {
    name: '4.18',
    phandleCache: 'pow2',
    sysfsHoldsRef: false,
    dlparDetachPut: false,
    refcount: 'plain',
    mobilityLookup: 'per-op',
    skipPlatformFacilities: false,
    origin: 'power-of-two phandle cache without references or invalidation (4.17 to 4.20)',
  },
  {
    name: '5.0',
    phandleCache: 'pow2-refs',
    sysfsHoldsRef: true,
    dlparDetachPut: true,
    refcount: 'plain',
    mobilityLookup: 'per-op',
    skipPlatformFacilities: false,
    origin:
      'cache entries hold references and are evicted on detach; sysfs holds a reference (5801169a2ed2, b8a9ac1a5b99, 5b2c2f5a0ea3)',
  },
  {
    name: '5.8',
    phandleCache: 'hash128',
    sysfsHoldsRef: true,
    dlparDetachPut: true,
    refcount: 'checked',
    mobilityLookup: 'per-op',
    skipPlatformFacilities: false,
    origin: 'fixed 128-slot hash cache (90dc0d1ce890, 5.6); refcount_t always checked (5.5)',
  },
  {
    name: '5.16',
    phandleCache: 'hash128',
    sysfsHoldsRef: true,
    dlparDetachPut: true,
    refcount: 'checked',
    mobilityLookup: 'central',
    skipPlatformFacilities: true,
    origin:
      'central lookup in the update loop (2efd7f6eb9b7, 5.11); platform-facilities updates ignored (319fa1a52e43)',
  },
];

export const KERNEL_NAMES: readonly KernelName[] = KERNEL_PROFILES.map((p) => p.name);

export function kernelProfile(name: string): KernelProfile | undefined {
  return KERNEL_PROFILES.find((p) => p.name === name);
}

/** LPAR creation options that change kernel behaviour (kept for the LPAR's life). */
export interface KernelOptions {
  /** K-REF-4: the 4.x CONFIG_REFCOUNT_FULL behaviour for `plain` profiles. */
  readonly refcountFull: boolean;
  /** K-UAF: print KASAN reports (use-after-free is counted either way). */
  readonly kasan: boolean;
  /** K-MOB-8: pr_debug lines reach dmesg. */
  readonly dynamicDebug: boolean;
  /** K-DRV-4. */
  readonly pfoDevices: PfoDevices;
}

export const DEFAULT_KERNEL_OPTIONS: KernelOptions = {
  refcountFull: false,
  kasan: true,
  dynamicDebug: false,
  pfoDevices: 'kernel',
};
