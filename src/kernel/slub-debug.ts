// SLUB debugging as `slub_debug` (FZPU) builds it (K-UAF-3, option `slubDebug`): a freed node is
// filled with poison, a write through a stale pointer changes poison bytes, and SLUB finds the change
// when it next checks that object: when the allocator hands the object out again
// (alloc_debug_processing → check_object), the one trigger lparsim models. The report is that
// release's text (docs/research/slub-debug.md, read in the pinned trees of docs/kernel-model.md D).
//
// The allocator model exists only under the option. Freed objects go on their slab's freelist (LIFO,
// kfree pushes the head); slabs with free objects form the partial list in the order they got their
// first free object (a debug cache's __slab_free adds to the tail). An allocation takes the head of
// the first partial slab's freelist and checks it:
// - poison intact: SLUB would hand that memory out again. lparsim never reuses an address (K-UAF-1),
//   so the new node still gets a fresh one, and the old object is marked `reused`: later writes through
//   a stale pointer would land in a live object, which no check sees, so they are not poison any more.
// - poison overwritten: the report, then `Marking all objects used`: the slab leaves the partial list
//   with every free object in it (they are leaked, never reused: the one case where the kernel does
//   not reuse the memory either), and the allocation tries the next partial slab.
// The addresses of the report: the object is the node's lparsim address; its slot, the slab's
// `@offset`s and the `Slab` pointer follow from a slab of this cache's geometry holding allocation
// indexes ⌊i/N⌋·N … (a 64 KiB order-0 page). Each is consistent in itself; they are not one address
// space, since lparsim's own addresses keep their 256-byte stride.

import { fnv1a } from './hash.ts';
import type { KernelName } from './profiles.ts';

export const POISON_FREE = 0x6b;
export const POISON_END = 0xa5;
export const SLUB_RED_INACTIVE = 0xbb;
export const POISON_INUSE = 0x5a;

/** What changed in the report text from release to release (docs/research/slub-debug.md, summary table). */
export interface SlubReportFacts {
  /** The first-byte line: `INFO: ` prefix (to 5.10), ` @offset=` (5.7/5.8+). */
  readonly firstByteInfo: boolean;
  readonly firstByteOffset: boolean;
  /**
   * 5.14's rework: no `INFO: ` on the track, Slab and Object lines; `Restoring Poison …` without the
   * extra empty line; dump labels padded to `Bytes b4 `'s width; the taint added after the trailer,
   * not in slab_bug.
   */
  readonly reworked514: boolean;
  /** `Slab … flags=`: `0x%04lx` (to 5.10), `%#lx(%pGp)` (5.14, 5.15), `%pGp` (6.1+, same text). */
  readonly pgSlabBit: number | null;
  /** Tracks: saved addrs printed `\t%pS` (to 5.15/5.16), or a stack depot printed ` %pS` (6.1+). */
  readonly depotTracks: boolean;
  /** `%p` hashed (to 5.10); from 5.12 slub_debug turns on no_hash_pointers. */
  readonly hashedPointers: boolean;
  /** How `%p` prints NULL: `(null)` padded to 16 (to 5.0), hashed (5.4), zeros (5.7+). */
  readonly nullPointer: '(null)' | 'hashed' | 'zeros';
  /** 6.12 (check_object made consistent): every check, the FIX lines first, one trailer of restored bytes. */
  readonly checkAll: boolean;
  /** sizeof(struct track): 152 with CONFIG_STACKTRACE's addrs[16] (to 5.16), 32 with a depot handle. */
  readonly trackSize: number;
  /** 6.1+: U on a kmalloc cache keeps the requested size (4 bytes) after the tracks. */
  readonly origSize: boolean;
  /** 5.4+: a power-of-two kmalloc cache is naturally aligned (so kmalloc-256's left red zone is 256). */
  readonly pow2Align: boolean;
  /** What kzalloc of a struct calls: kmem_cache_alloc_trace (to 6.0), kmalloc_trace, __kmalloc_cache_noprof. */
  readonly kmallocFunction: string;
  /** ___slab_alloc's way to alloc_debug_processing for an object on a partial slab. */
  readonly allocPath: readonly string[];
  /** offsetof(struct device_node, phandle): 16 while `type` came before it (to 4.18), 8 after. */
  readonly phandleOffset: number;
}

const PATH_OLD = ['__slab_alloc', '___slab_alloc', 'alloc_debug_processing'];
const PATH_NEW = [
  '__slab_alloc',
  '___slab_alloc',
  'get_partial_node',
  'alloc_single_from_partial',
  'alloc_debug_processing',
];
const F_4X: SlubReportFacts = {
  firstByteInfo: true,
  firstByteOffset: false,
  reworked514: false,
  pgSlabBit: 8,
  depotTracks: false,
  hashedPointers: true,
  nullPointer: '(null)',
  checkAll: false,
  trackSize: 152,
  origSize: false,
  pow2Align: false,
  kmallocFunction: 'kmem_cache_alloc_trace',
  allocPath: PATH_OLD,
  phandleOffset: 16,
};
const F_5_0: SlubReportFacts = { ...F_4X, pgSlabBit: 9, phandleOffset: 8 };
const F_5_8: SlubReportFacts = { ...F_5_0, firstByteOffset: true, nullPointer: 'zeros', pow2Align: true };
const F_5_14: SlubReportFacts = {
  ...F_5_8,
  firstByteInfo: false,
  reworked514: true,
  hashedPointers: false,
};
const F_6_1: SlubReportFacts = {
  ...F_5_14,
  depotTracks: true,
  trackSize: 32,
  origSize: true,
  kmallocFunction: 'kmalloc_trace',
  allocPath: PATH_NEW,
};

/** PG_slab's bit: 8 before PG_workingset (4.20), 9, then 11 in 6.6; 6.12 marks slabs by page type. */
export const SLUB_FACTS: Readonly<Record<KernelName, SlubReportFacts>> = {
  '4.16': F_4X,
  '4.18': F_4X,
  '5.0': F_5_0,
  '5.4': { ...F_5_0, nullPointer: 'hashed', pow2Align: true },
  '5.8': F_5_8,
  '5.10': F_5_8,
  '5.14': F_5_14,
  '5.16': F_5_14, // checked in 5.15.16; the depot tracks came later (5.17)
  '6.1': F_6_1,
  '6.6': { ...F_6_1, pgSlabBit: 11 },
  '6.12': { ...F_6_1, pgSlabBit: null, checkAll: true, kmallocFunction: '__kmalloc_cache_noprof' },
};

/** The kmalloc cache of struct device_node and one slot of it with FZPU on ppc64 (calculate_sizes). */
export interface SlubLayout {
  readonly cache: string;
  readonly objectSize: number;
  /** offsetof(struct device_node, kobj.kref) and of `child`, from the release's struct layout. */
  readonly krefOffset: number;
  readonly childOffset: number;
  readonly redLeftPad: number;
  /** The right red zone [objectSize, inuse); the free pointer sits at inuse (P moves it out). */
  readonly inuse: number;
  /** The `Padding` dump: [paddingStart, size - redLeftPad). */
  readonly paddingStart: number;
  /** s->size: the stride of objects in a slab. */
  readonly size: number;
  readonly objectsPerSlab: number;
}

const WORD = 8;
const KOBJECT_KREF = 56; // name, entry (2 words), parent, kset, ktype, sd
const KOBJECT_SIZE = 64; // the kref and the state bits fill the last word
const SLAB_BYTES = 0x10000; // order 0 of ppc64's 64 KiB pages

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * sizeof(struct device_node) is the kobject's offset (a release fact, `kobjOffset`) plus the kobject,
 * `_flags` and `data`: 160 or 168 bytes to 5.10 (kmalloc-192), 208 from 5.14's larger fwnode_handle
 * (kmalloc-256). kmalloc_index puts 129..192 in kmalloc-192 (ppc64's KMALLOC_MIN_SIZE is 8).
 */
export function slubLayout(kobjOffset: number, facts: SlubReportFacts): SlubLayout {
  const nodeSize = kobjOffset + KOBJECT_SIZE + 2 * WORD;
  const objectSize = nodeSize <= 192 && nodeSize > 128 ? 192 : 2 ** Math.ceil(Math.log2(nodeSize));
  const align = facts.pow2Align && (objectSize & (objectSize - 1)) === 0 ? objectSize : WORD;
  const inuse = objectSize + WORD; // Z: one word of right red zone
  const paddingStart = inuse + WORD + 2 * facts.trackSize + (facts.origSize ? 4 : 0);
  const redLeftPad = alignUp(WORD, align);
  const size = alignUp(paddingStart + WORD + redLeftPad, align);
  return {
    cache: `kmalloc-${objectSize}`,
    objectSize,
    krefOffset: kobjOffset + KOBJECT_KREF,
    childOffset: kobjOffset - 2 * WORD,
    redLeftPad,
    inuse,
    paddingStart,
    size,
    objectsPerSlab: Math.floor(SLAB_BYTES / size),
  };
}

/** set_track: who allocated or freed an object, and when. */
export interface SlubTrack {
  readonly comm: string;
  readonly pid: number;
  /** The call chain, innermost first, ` <- ` between frames (FreeRecord's form). */
  readonly trace: string;
  readonly usec: number;
}

/** One slab of the cache, by its number (allocation index ⌊i/N⌋). */
interface SlabList {
  /** Free objects' addresses; the last is the freelist's head. */
  readonly free: string[];
}

/**
 * The allocator state of one LPAR's node cache under slubDebug: plain data (the digest reads it); the
 * kernel runs the checks (kernel.ts slubAllocCheck).
 */
export class SlubDebugState {
  readonly layout: SlubLayout;
  readonly facts: SlubReportFacts;
  /** siphash's key for `%p` (to 5.10), from the LPAR's seed so replays agree. */
  readonly pointerKey: number;
  /** Bytes written into a free object since its kfree: address → (offset → byte). */
  readonly poison = new Map<string, Map<number, number>>();
  /** Slabs with free objects, in partial-list order. */
  readonly partial: number[] = [];
  readonly slabs = new Map<number, SlabList>();
  /** Objects on some freelist: their slab. */
  readonly onFreelist = new Map<string, number>();
  /**
   * Free objects of slabs marked all used: still poisoned memory (reads see it, writes change it), but
   * never handed out or checked again.
   */
  readonly leaked = new Set<string>();
  /** Allocation tracks (set_track TRACK_ALLOC). */
  readonly allocTracks = new Map<string, SlubTrack>();
  /** Free tracks (TRACK_FREE) of the objects on a freelist. */
  readonly freeTracks = new Map<string, SlubTrack>();
  /** Reports printed so far (the lock-debugging line goes with the first taint). */
  reports = 0;

  constructor(layout: SlubLayout, facts: SlubReportFacts, pointerKey: number) {
    this.layout = layout;
    this.facts = facts;
    this.pointerKey = pointerKey;
  }

  slabOf(index: number): number {
    return Math.floor(index / this.layout.objectsPerSlab);
  }

  /** The object's memory holds poison: freed, and not handed out again since. */
  poisoned(address: string): boolean {
    return this.onFreelist.has(address) || this.leaked.has(address);
  }

  /** kfree → __slab_free with a debug cache: the object becomes its slab's freelist head. */
  freed(address: string, index: number, track: SlubTrack): void {
    if (index < 0 || this.onFreelist.has(address)) return;
    this.freeTracks.set(address, track);
    const slab = this.slabOf(index);
    let list = this.slabs.get(slab);
    if (!list) {
      list = { free: [] };
      this.slabs.set(slab, list);
      this.partial.push(slab);
    }
    list.free.push(address);
    this.onFreelist.set(address, slab);
  }

  /** A free object's byte at `offset` as memory holds it now: poison unless written since. */
  byteAt(address: string, offset: number): number {
    return this.poison.get(address)?.get(offset) ?? this.poisonAt(offset);
  }

  /** A store of `bytes` (little-endian, as on ppc64le) at `offset` of a free object. */
  store(address: string, offset: number, bytes: readonly number[]): void {
    let written = this.poison.get(address);
    if (!written) {
      written = new Map();
      this.poison.set(address, written);
    }
    for (const [i, b] of bytes.entries()) written.set(offset + i, b & 0xff);
  }

  /** Some byte of the object differs from its poison (writes that cancel out leave it intact). */
  corrupted(address: string): boolean {
    const written = this.poison.get(address);
    if (!written) return false;
    for (const offset of written.keys())
      if (this.byteAt(address, offset) !== this.poisonAt(offset)) return true;
    return false;
  }

  private poisonAt(offset: number): number {
    return offset === this.layout.objectSize - 1 ? POISON_END : POISON_FREE;
  }

  /** A little-endian u32 of a free object. */
  u32At(address: string, offset: number): number {
    let v = 0;
    for (let i = 3; i >= 0; i--) v = v * 256 + this.byteAt(address, offset + i);
    return v;
  }

  /** The bytes of the object itself, [0, objectSize). */
  objectBytes(address: string): Uint8Array {
    const bytes = new Uint8Array(this.layout.objectSize);
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.byteAt(address, i);
    return bytes;
  }

  /** The freelist head of the first partial slab, taken off (alloc_single_from_partial / acquire_slab). */
  takeHead(): Omit<PoisonHit, 'index'> | null {
    const slab = this.partial[0];
    if (slab === undefined) return null;
    const list = this.slabs.get(slab)!;
    const address = list.free.pop()!;
    this.onFreelist.delete(address);
    const freed = this.freeTracks.get(address) ?? null;
    this.freeTracks.delete(address);
    const nextFree = list.free.at(-1) ?? null;
    if (list.free.length === 0) this.dropSlab(slab);
    return { address, slab, nextFree, freeLeft: list.free.length, freed };
  }

  /** `Marking all objects used`: the slab keeps no free object and leaves the partial list. */
  markAllUsed(slab: number): void {
    const list = this.slabs.get(slab);
    if (!list) return;
    for (const address of list.free) {
      this.onFreelist.delete(address);
      this.freeTracks.delete(address);
      this.leaked.add(address);
    }
    this.dropSlab(slab);
  }

  private dropSlab(slab: number): void {
    this.slabs.delete(slab);
    const at = this.partial.indexOf(slab);
    if (at >= 0) this.partial.splice(at, 1);
  }

  /**
   * `%p` of a kernel pointer: hashed to 32 bits behind eight zeros (to 5.10; a stand-in for siphash
   * keyed per boot, here by the LPAR's seed), or the raw address (no_hash_pointers, 5.12+).
   */
  pointer(address: bigint | null): string {
    if (address === null) {
      if (this.facts.nullPointer === '(null)') return '(null)'.padStart(16, ' ');
      if (this.facts.nullPointer === 'zeros') return '0'.repeat(16);
      address = 0n;
    }
    if (!this.facts.hashedPointers) return address.toString(16).padStart(16, '0');
    const hash = fnv1a(`${this.pointerKey}:${address.toString(16)}`);
    return hash.toString(16).padStart(16, '0');
  }
}

/** lib/hexdump.c hex_dump_to_buffer with rowsize 16, groupsize 1 and ASCII: hex bytes, then column 49. */
export function hexDumpRow(bytes: Uint8Array): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const ascii = [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return `${hex.padEnd(49, ' ')}${ascii}`;
}

// ---- The checks and the report (mm/slub.c check_object → check_bytes_and_report → print_trailer) ----

/** The kernel the checks print through (kernel.ts Kernel; a structural type keeps the import one way). */
export interface SlubKernel {
  readonly profile: { readonly release: string; readonly taintFlags: number };
  readonly taints: Set<string>;
  readonly clock: { readonly usec: number };
  printk(level: 'err' | 'warn', text: string): void;
  dumpStack(level: 'warn'): void;
  fn<T>(name: string, body: () => T): T;
  printTaintedNow(): string;
  addTaint(flag: 'B', lockdepUnreliable: boolean): void;
  symbolName(func: string): string;
}

const BANNER_EQ = '='.repeat(77);
const BANNER_DASH = '-'.repeat(77);
/** pseries configs run HZ=100: jiffies from the simulated clock. */
const USEC_PER_JIFFY = 10_000;
/** Where slabs' struct pages sit: the vmemmap (0xc00c…), 64 bytes a page, the first slab at 32 MiB. */
const VMEMMAP = 0xc00c_0000_0000_0000n;
const FIRST_SLAB_PFN = 0x200n;
const TRACK_ADDRS = 16;

const jiffies = (usec: number) => Math.floor(usec / USEC_PER_JIFFY);
const addr = (address: string) => BigInt(`0x${address}`);

/** Where the object sits in its slab (its `@offset`) and the slab's page address and struct page. */
function placement(s: SlubDebugState, index: number) {
  const { layout } = s;
  const slot = index % layout.objectsPerSlab;
  const objectOffset = slot * layout.size + layout.redLeftPad;
  const page = VMEMMAP + (FIRST_SLAB_PFN + BigInt(s.slabOf(index))) * 64n;
  return { objectOffset, page };
}

/** print_track: the caller, its age and task, then the saved stack (skipping set_track's own frames). */
function printTrack(
  k: SlubKernel,
  s: SlubDebugState,
  what: 'Allocated' | 'Freed',
  t: SlubTrack | null,
): void {
  const f = s.facts;
  if (!t) return; // a track never set (addr 0) prints nothing
  const frames = t.trace === '' ? [] : t.trace.split(' <- ');
  const entry =
    what === 'Allocated' ? ['___slab_alloc', '__slab_alloc', f.kmallocFunction] : ['__slab_free', 'kfree'];
  const caller = frames[0] ?? entry.at(-1)!;
  const info = f.reworked514 ? '' : 'INFO: ';
  const age = jiffies(k.clock.usec) - jiffies(t.usec);
  k.printk('err', `${info}${what} in ${k.symbolName(caller)} age=${age} cpu=0 pid=${t.pid}`);
  const stack = [...entry, ...frames].slice(0, TRACK_ADDRS);
  for (const fn of stack) k.printk('err', `${f.depotTracks ? ' ' : '\t'}${k.symbolName(fn)}`);
}

/** print_section → print_hex_dump(KERN_ERR, label, DUMP_PREFIX_ADDRESS, 16, 1, …, true). */
function printSection(
  k: SlubKernel,
  s: SlubDebugState,
  label: string,
  start: bigint,
  bytes: Uint8Array,
): void {
  for (let i = 0; i < bytes.length; i += 16)
    k.printk('err', `${label}${s.pointer(start + BigInt(i))}: ${hexDumpRow(bytes.subarray(i, i + 16))}`);
}

function slabFlags(f: SlubReportFacts): string {
  const bits = f.pgSlabBit === null ? 0 : 1 << f.pgSlabBit;
  if (!f.reworked514) return `0x${bits.toString(16).padStart(4, '0')}`;
  // %pGp: the flags' names, then the fields of the flags word (node 0, zone 0; no NUMA balancing).
  const names = [...(f.pgSlabBit === null ? [] : ['slab']), 'node=0', 'zone=0'].join('|');
  return `0x${bits.toString(16)}(${names})`;
}

export interface PoisonHit {
  readonly address: string;
  readonly index: number;
  readonly slab: number;
  readonly nextFree: string | null;
  readonly freeLeft: number;
  readonly freed: SlubTrack | null;
}

/**
 * check_object(…, SLUB_RED_INACTIVE) on a free object whose poison was overwritten: the red zones are
 * intact (lparsim's writes stay inside the object) and the last byte keeps POISON_END, so the Poison
 * check over [0, object_size - 1) is the one that fails. Prints the report and restores the bytes.
 */
export function reportPoisonOverwritten(k: SlubKernel, s: SlubDebugState, hit: PoisonHit): void {
  const { layout: L, facts: f } = s;
  const bytes = s.objectBytes(hit.address);
  let first = 0;
  while (first < L.objectSize - 1 && bytes[first] === POISON_FREE) first++;
  let end = L.objectSize - 1;
  while (end > first && bytes[end - 1] === POISON_FREE) end--;
  const p = addr(hit.address);
  const { objectOffset, page } = placement(s, hit.index);
  const info = f.reworked514 ? '' : 'INFO: ';
  const range = `0x${s.pointer(p + BigInt(first))}-0x${s.pointer(p + BigInt(end - 1))}`;
  const at = f.firstByteOffset ? ` @offset=${objectOffset + first}` : '';
  const restore = f.reworked514
    ? `FIX ${L.cache}: Restoring Poison ${range}=0x${POISON_FREE.toString(16)}`
    : `FIX ${L.cache}: Restoring ${range}=0x${POISON_FREE.toString(16)}`;
  // The lock-debugging line comes with the first taint that makes lockdep unreliable (B or D).
  const taint = () => k.addTaint('B', true);
  const fixRestore = () => {
    k.printk('err', restore);
    if (!f.reworked514) k.printk('err', ''); // the old message's own trailing newline
    for (let i = first; i < end; i++) bytes[i] = POISON_FREE;
    s.poison.delete(hit.address);
  };

  k.printk('err', BANNER_EQ);
  k.printk('err', `BUG ${L.cache} (${k.printTaintedNow()}): Poison overwritten`);
  k.printk('err', BANNER_DASH);
  k.printk('err', '');
  if (!f.reworked514) taint(); // to 5.13 slab_bug taints at once
  k.printk(
    'err',
    `${f.firstByteInfo ? 'INFO: ' : ''}${range}${at}. First byte 0x${bytes[first]!.toString(16)} instead of 0x${POISON_FREE.toString(16)}`,
  );
  if (f.checkAll) fixRestore(); // 6.12: each failed check restores at once; one trailer at the end

  // print_trailer
  printTrack(k, s, 'Allocated', s.allocTracks.get(hit.address) ?? null);
  printTrack(k, s, 'Freed', hit.freed);
  // To 5.15 acquire_slab moved the whole freelist to the CPU: the slab shows every object used and no
  // freelist. From 6.1 one object is taken under the node lock: inuse counts it, the freelist goes on.
  const objects = L.objectsPerSlab;
  const used = f.depotTracks ? objects - hit.freeLeft : objects;
  const slabFp = f.depotTracks && hit.nextFree !== null ? addr(hit.nextFree) : null;
  const nextFp = hit.nextFree === null ? null : addr(hit.nextFree);
  k.printk(
    'err',
    `${info}Slab 0x${s.pointer(page)} objects=${objects} used=${used} fp=0x${s.pointer(slabFp)} flags=${slabFlags(f)}`,
  );
  k.printk('err', `${info}Object 0x${s.pointer(p)} @offset=${objectOffset} fp=0x${s.pointer(nextFp)}`);
  k.printk('err', '');
  const pad = (label: string) => (f.reworked514 ? label.padEnd(9, ' ') : `${label} `);
  printSection(
    k,
    s,
    pad('Redzone'),
    p - BigInt(L.redLeftPad),
    new Uint8Array(L.redLeftPad).fill(SLUB_RED_INACTIVE),
  );
  printSection(k, s, pad('Object'), p, bytes);
  printSection(
    k,
    s,
    pad('Redzone'),
    p + BigInt(L.objectSize),
    new Uint8Array(L.inuse - L.objectSize).fill(SLUB_RED_INACTIVE),
  );
  const padding = L.size - L.redLeftPad - L.paddingStart;
  if (padding > 0)
    printSection(
      k,
      s,
      pad('Padding'),
      p + BigInt(L.paddingStart),
      new Uint8Array(padding).fill(POISON_INUSE),
    );
  k.fn('print_trailer', () => k.dumpStack('warn'));
  if (f.reworked514) taint();
  if (!f.checkAll) fixRestore();
}

/**
 * alloc_debug_processing for each freelist head the allocation reaches: a clean one is handed out (the
 * caller then takes a fresh lparsim address, K-UAF-1), a corrupted one is reported, its slab marked all
 * used, and the next partial slab is tried.
 */
export function slubAllocCheck(k: SlubKernel, s: SlubDebugState, indexOf: (address: string) => number): void {
  const f = s.facts;
  const checks = f.checkAll ? ['check_object'] : ['check_object', 'check_bytes_and_report'];
  for (;;) {
    const head = s.takeHead();
    if (!head) return;
    if (!s.corrupted(head.address)) {
      s.poison.delete(head.address);
      return; // intact: SLUB hands it out again (lparsim's node gets a fresh address, K-UAF-1)
    }
    s.leaked.add(head.address); // the failed object stays out of use with its slab
    const hit: PoisonHit = { ...head, index: indexOf(head.address) };
    inFrames(k, [f.kmallocFunction, ...f.allocPath], () => {
      inFrames(k, checks, () => reportPoisonOverwritten(k, s, hit));
      k.printk('err', `FIX ${s.layout.cache}: Marking all objects used`);
    });
    s.markAllUsed(head.slab);
  }
}

/** `body` run with `names` on the call chain, outermost first. */
function inFrames(k: SlubKernel, names: readonly string[], body: () => void): void {
  if (names.length === 0) body();
  else k.fn(names[0]!, () => inFrames(k, names.slice(1), body));
}
