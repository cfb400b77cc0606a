// /proc/ppc64/ofdt (arch/powerpc/platforms/pseries/reconfig.c, K-OFDT): one command per write, parsed
// the way the kernel parses it, answered with the errno a write(2) would return.

import { ERRNO, type ErrnoName } from '../kernel/errno.ts';
import { ofFindNodeByPath, ofFindProperty, ofGetNextChild, ofGetParent } from '../of/base.ts';
import {
  ofAddProperty,
  ofAttachNode,
  ofDetachNode,
  ofNodeAlloc,
  ofRemoveProperty,
  ofUpdateProperty,
} from '../of/dynamic.ts';
import { OF_DYNAMIC } from '../of/node.ts';
import { ofFindNodeByPhandle } from '../of/phandle-cache.ts';
import type { Property } from '../of/property.ts';
import { ofNodePut } from '../of/refs.ts';
import type { OfState } from '../of/state.ts';

/** The errnos an ofdt write answers. */
export type Errno = Extract<ErrnoName, 'EINVAL' | 'ENODEV' | 'EBUSY' | 'ENOMEM' | 'EEXIST' | 'ENOENT'>;
export const ERRNO_VALUES: Readonly<Record<ErrnoName, number>> = ERRNO;

export type OfdtResult =
  | { readonly ok: true; readonly command: string }
  | { readonly ok: false; readonly command: string; readonly errno: Errno };

/** The holder of the references this file's code takes (K-REF-1). */
const HOLDER = 'ofdt';
const SPACE = 0x20;

/**
 * parse_next_property: `<name> <decimal length> <length raw bytes>` then a space, NUL or the end.
 * A failed check prints the kernel's message with the line of the check (docs/kernel-notes.md) and
 * answers null, which every caller turns into -EINVAL.
 */
function parseNextProperty(
  of: OfState,
  buf: Uint8Array,
  pos: number,
  end: number,
): { prop: Property; next: number } | null {
  const fail = (line: number): null => {
    of.k.printk('err', `property parse failed in parse_next_property at line ${line}`);
    return null;
  };
  const nameEnd = indexOfByte(buf, SPACE, pos, end);
  if (nameEnd < 0) return fail(106);
  const name = new TextDecoder().decode(buf.subarray(pos, nameEnd));
  let p = nameEnd + 1;
  if (p >= end) return fail(112);
  // simple_strtoul(…, 10): leading digits; none gives 0.
  let length = 0;
  while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) {
    length = length * 10 + (buf[p]! - 0x30);
    p += 1;
  }
  if (buf[p] !== SPACE || ++p >= end) return fail(124);
  const valueStart = p;
  p += length;
  if (p > end) return fail(132);
  if (p < end && buf[p] !== SPACE && buf[p] !== 0) return fail(136);
  return { prop: { name, value: buf.slice(valueStart, valueStart + length) }, next: p + 1 };
}

function indexOfByte(buf: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    if (buf[i] === byte) return i;
    if (buf[i] === 0) return -1; // strchr stops at the NUL memdup_user_nul leaves
  }
  return -1;
}

/** simple_strtoul(s, NULL, 0): 0x hex, leading-0 octal, else decimal; stops at the first bad digit. */
function strtoulBase0(s: string): number {
  let base = 10;
  let i = 0;
  if (/^0[xX][0-9a-fA-F]/.test(s)) {
    base = 16;
    i = 2;
  } else if (s.startsWith('0')) base = 8;
  let v = 0;
  for (; i < s.length; i++) {
    const d = Number.parseInt(s[i]!, 16);
    if (Number.isNaN(d) || d >= base) break;
    v = (v * base + d) % 2 ** 32;
  }
  return v >>> 0;
}

function decodeToken(buf: Uint8Array, start: number, end: number): string {
  return new TextDecoder().decode(buf.subarray(start, end));
}

/** The kbasename/derive-parent split of an add_node path. */
/**
 * kbasename and pseries_of_derive_parent's split: the parent is everything before the last `/` ("/"
 * when that is the first character, or when there is none); null for "/" itself, which is refused.
 */
function splitParent(path: string): { parentPath: string; base: string } | null {
  if (path === '/') return null;
  const slash = path.lastIndexOf('/');
  return { parentPath: slash <= 0 ? '/' : path.slice(0, slash), base: path.slice(slash + 1) };
}

function doAddNode(of: OfState, buf: Uint8Array, start: number, end: number): Errno | null {
  const pathEnd = indexOfByte(buf, SPACE, start, end);
  if (pathEnd < 0) return 'EINVAL';
  const path = decodeToken(buf, start, pathEnd);
  const existing = ofFindNodeByPath(of, path, HOLDER);
  if (existing) {
    ofNodePut(of, existing, HOLDER);
    return 'EINVAL';
  }
  // Each property is prepended: the node ends up with them in reverse order of the command.
  const props: Property[] = [];
  let pos = pathEnd + 1;
  while (pos < end) {
    const parsed = parseNextProperty(of, buf, pos, end);
    if (!parsed) return 'EINVAL';
    props.unshift(parsed.prop);
    pos = parsed.next;
  }
  return of.k.fn('pSeries_reconfig_add_node', () => pSeriesReconfigAddNode(of, path, props));
}

/** An ERR_PTR(-EINVAL) as a pointer: what pseries_of_derive_parent answers for a missing parent. */
const ERR_PTR_EINVAL = 0xffff_ffff_ffff_ffean;
/** Where in struct kobject kobject_put first reads: the state bits after the kref. */
const KOBJECT_STATE_OFFSET = 0x3cn;

/**
 * pSeries_reconfig_add_node: the node is allocated (OF_DYNAMIC, count 1) before its parent is derived.
 * A missing parent comes back as ERR_PTR(-EINVAL) and the error path puts it like a node (E7): the
 * kernel dereferences a bad address and oopses inside of_node_put, the writer is killed, and the node
 * it had allocated is never freed (orphaned).
 */
function pSeriesReconfigAddNode(of: OfState, path: string, props: Property[]): Errno | null {
  const split = splitParent(path);
  const np = ofNodeAlloc(of, split ? split.base : path, props, OF_DYNAMIC);
  const parent = split ? ofFindNodeByPath(of, split.parentPath, HOLDER) : null;
  if (!parent) {
    of.k.fn('of_node_put', () =>
      of.k.fn('kobject_put', () =>
        of.k.oops(
          (ERR_PTR_EINVAL + BigInt(of.k.profile.kobjOffset) + KOBJECT_STATE_OFFSET) & 0xffff_ffff_ffff_ffffn,
          'read',
        ),
      ),
    );
  }
  np.parent = parent;
  const rc = ofAttachNode(of, np);
  if (rc) of.k.printk('err', `Failed to add device node ${path}`);
  ofNodePut(of, parent, HOLDER);
  return null;
}

// E1: get the parent; a node with a child is refused (-EBUSY) after putting both; otherwise detach
// and put the parent. No other put: the 2.6-era "must decrement the refcount" put is long gone.
function doRemoveNode(of: OfState, buf: Uint8Array, start: number, end: number): Errno | null {
  const nul = buf.indexOf(0, start);
  const path = decodeToken(buf, start, nul >= 0 && nul < end ? nul : end);
  const np = ofFindNodeByPath(of, path, HOLDER);
  let rv: Errno | null = 'ENODEV';
  if (np) {
    rv = of.k.fn('pSeries_reconfig_remove_node', () => {
      const parent = ofGetParent(of, np, HOLDER);
      if (!parent) return 'EINVAL';
      const child = ofGetNextChild(of, np, null, HOLDER);
      if (child) {
        ofNodePut(of, child, HOLDER);
        ofNodePut(of, parent, HOLDER);
        return 'EBUSY';
      }
      ofDetachNode(of, np);
      ofNodePut(of, parent, HOLDER);
      return null;
    });
  }
  ofNodePut(of, np, HOLDER);
  return rv;
}

/** parse_node: `<phandle> ` and the node found through the phandle cache (reference never put). */
function parseNode(of: OfState, buf: Uint8Array, start: number, end: number) {
  const sp = indexOfByte(buf, SPACE, start, end);
  if (sp < 0) return { np: null, next: -1 };
  const handle = strtoulBase0(decodeToken(buf, start, sp));
  return { np: ofFindNodeByPhandle(of, handle, HOLDER).node, next: sp + 1 };
}

function doAddProperty(of: OfState, buf: Uint8Array, start: number, end: number): Errno | null {
  const { np, next } = parseNode(of, buf, start, end);
  if (!np) return 'ENODEV';
  const parsed = parseNextProperty(of, buf, next, end);
  if (!parsed) return 'EINVAL';
  ofAddProperty(of, np, parsed.prop); // its result is ignored: an existing name still answers success
  return null;
}

function doRemoveProperty(of: OfState, buf: Uint8Array, start: number, end: number): Errno | null {
  const { np, next } = parseNode(of, buf, start, end);
  if (!np) return 'ENODEV';
  let stop = next;
  while (stop < end && buf[stop] !== SPACE && buf[stop] !== 0) stop += 1;
  const name = decodeToken(buf, next, stop);
  if (name.length === 0) return 'EINVAL';
  if (!ofFindProperty(np, name)) return 'ENODEV';
  return ofRemoveProperty(of, np, name) ? 'ENODEV' : null;
}

function doUpdateProperty(of: OfState, buf: Uint8Array, start: number, end: number): Errno | null {
  const { np, next } = parseNode(of, buf, start, end);
  if (!np) return 'ENODEV';
  const parsed = parseNextProperty(of, buf, next, end);
  if (!parsed) return 'EINVAL';
  if (parsed.prop.name.length === 0) return 'ENODEV';
  ofUpdateProperty(of, np, parsed.prop);
  return null;
}

const COMMANDS: Readonly<
  Record<string, (of: OfState, buf: Uint8Array, start: number, end: number) => Errno | null>
> = {
  add_node: doAddNode,
  remove_node: doRemoveNode,
  add_property: doAddProperty,
  remove_property: doRemoveProperty,
  update_property: doUpdateProperty,
};

/** ofdt_write: the bytes of one write(2) to /proc/ppc64/ofdt, run as the writing task. */
export function ofdtWrite(of: OfState, bytes: Uint8Array, comm = 'drmgr'): OfdtResult {
  return of.k.tasks.runAs(comm, () =>
    of.k.fn('ofdt_write', () => {
      // memdup_user_nul: the kernel sees the bytes up to the first NUL as the command word.
      const sp = indexOfByte(bytes, SPACE, 0, bytes.length);
      const command = sp < 0 ? decodeToken(bytes, 0, Math.min(bytes.length, 32)) : decodeToken(bytes, 0, sp);
      if (sp < 0) return { ok: false, command, errno: 'EINVAL' } as const;
      const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
      if (!handler) return { ok: false, command, errno: 'EINVAL' } as const;
      const errno = of.k.fn(`do_${command}`, () => handler(of, bytes, sp + 1, bytes.length));
      return errno ? ({ ok: false, command, errno } as const) : ({ ok: true, command } as const);
    }),
  );
}
