// Where code and stacks are in a simulated build (E12): each function of a release has a fixed
// address, size and return offset, so a call trace prints `[<stack>] [<address>] func+0xoff/0xsize`
// the way powerpc's show_stack does. The numbers are a build's values, made up but stable per release
// and function (a hash of both), so the same kernel always prints the same trace.

import { fnv1a } from './hash.ts';

export interface Symbol {
  /** The function's start, as %px would print it. */
  readonly start: bigint;
  readonly size: number;
  /** Where in it the frame's return address (or the WARN trap) sits. */
  readonly offset: number;
}

/** Text starts here in every simulated build (the powerpc64 kernel's linear-map base). */
const TEXT_BASE = 0xc000000000000000n;

export function symbolOf(release: string, func: string): Symbol {
  const h = fnv1a(`${release}:${func}`);
  const size = 0x60 + ((h >>> 20) % 0x50) * 0x10; // 0x60 .. 0x550
  const offset = 0x10 + (((h >>> 8) & 0xfff) % ((size - 0x10) / 4)) * 4;
  // Within the first 16 MiB of text, where a ppc64 vmlinux's code ends.
  const start = TEXT_BASE + 0x10000n + BigInt(fnv1a(`${func}:${release}`) % 0xff000) * 0x10n;
  return { start, size, offset };
}

const hex = (n: number | bigint) => n.toString(16);

/** `func+0xoff/0xsize`, as %pS prints a code address. */
export function symbolName(release: string, func: string): string {
  const s = symbolOf(release, func);
  return `${func}+0x${hex(s.offset)}/0x${hex(s.size)}`;
}

/** The return address %pS was given. */
export function symbolAddress(release: string, func: string): string {
  const s = symbolOf(release, func);
  return hex(s.start + BigInt(s.offset)).padStart(16, '0');
}

/**
 * A task's kernel stack: 16 KiB per pid below a fixed top, frames growing down from it. `outer` counts
 * from the outermost frame, so the frames of one system call keep their addresses from trace to trace.
 */
export function stackFrameAddress(pid: number, outer: number): string {
  const top = 0xc0000001fbc00000n - BigInt(pid % 4096) * 0x4000n;
  return hex(top - 0x200n - BigInt(outer) * 0x90n).padStart(16, '0');
}
