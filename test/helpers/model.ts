// Builders for model-level tests: an LPAR without HTTP, and small OF states.

import { Kernel } from '../../src/kernel/kernel.ts';
import { DEFAULT_KERNEL_OPTIONS, type KernelOptions, kernelProfile } from '../../src/kernel/profiles.ts';
import type { Lpar } from '../../src/lpar/lpar.ts';
import { type CreateLparInput, Registry } from '../../src/lpar/registry.ts';
import type { FdtNode } from '../../src/of/fdt.ts';
import { enc } from '../../src/of/property.ts';
import { type OfState, ofStateInit } from '../../src/of/state.ts';
import { ofCoreInit, unflattenDeviceTree } from '../../src/of/unflatten.ts';

export const LIMITS = {
  maxLpars: 1000,
  maxNodesPerLpar: 400_000,
  maxEventsPerLpar: 100_000,
  maxTreeDepth: 64,
};

export function newLpar(kernel: string, input: Partial<CreateLparInput> = {}): Lpar {
  return new Registry(LIMITS, () => new Date(0)).create({ profile: 'power9', kernel, ...input });
}

export function kernelFor(name: string, options: Partial<KernelOptions> = {}): Kernel {
  return new Kernel(kernelProfile(name)!, { ...DEFAULT_KERNEL_OPTIONS, ...options }, 7);
}

/** A small booted OF state from a hand-written tree. */
export function bootTree(kernel: string, fdt: FdtNode, options: Partial<KernelOptions> = {}): OfState {
  const of = ofStateInit(kernelFor(kernel, options));
  unflattenDeviceTree(of, fdt);
  ofCoreInit(of);
  return of;
}

export function fnode(
  name: string,
  props: Record<string, Uint8Array> = {},
  children: FdtNode[] = [],
): FdtNode {
  const base = name.split('@')[0]!;
  return {
    name,
    props: [
      { name: 'name', value: enc.string(base) },
      ...Object.entries(props).map(([n, value]) => ({ name: n, value })),
    ],
    children,
  };
}

export const ph = (v: number) => ({ phandle: enc.u32(v) });

export function dmesgText(lpar: { k: Kernel }): string[] {
  return lpar.k.log.lines.map((l) => l.text);
}

export const te = new TextEncoder();
