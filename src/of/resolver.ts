// of_resolve_phandles (drivers/of/resolver.c): moves the overlay's own phandles past the live tree's
// largest (adjusting the references __local_fixups__ lists) and writes the phandles of the live
// nodes its __fixups__ name through the live tree's __symbols__.

import type { KernelName } from '../kernel/profiles.ts';
import { forEachOfAllnodes, ofFindNodeByPath, ofFindProperty } from './base.ts';
import type { DeviceNode } from './node.ts';
import { type OverlayNode, overlayFindByPath } from './overlay-tree.ts';
import { OF_PHANDLE_ILLEGAL } from './phandle-cache.ts';
import { readU32 } from './property.ts';
import { ofNodePut } from './refs.ts';
import type { OfState } from './state.ts';

/** The holder of the lookups the resolver makes. */
export const RESOLVER_HOLDER = 'of_resolve_phandles';

const ENOENT = 2;
const EINVAL = 22;

/**
 * Releases whose resolver names the missing label before its generic failure line: absent in 5.4.0,
 * present in 5.8.1 and every later tree read. A message fact, not a behaviour switch (docs/kernel-notes.md
 * note 41): the profile table's release facts are part of the HTTP document, which this layer cannot
 * change, so the fact lives here.
 */
const LABEL_MESSAGE: Readonly<Record<KernelName, boolean>> = {
  '4.16': false,
  '4.18': false,
  '5.0': false,
  '5.4': false,
  '5.8': true,
  '5.10': true,
  '5.14': true,
  '5.16': true,
  '6.1': true,
  '6.6': true,
  '6.12': true,
};

function resolverErr(of: OfState, text: string): void {
  of.k.printk('err', `OF: resolver: ${text}`);
}

/** live_tree_max_phandle: the largest phandle of an attached node, 0xdeadbeef aside. */
export function liveTreeMaxPhandle(of: OfState): number {
  let max = 0;
  for (const np of forEachOfAllnodes(of))
    if (np.phandle !== OF_PHANDLE_ILLEGAL && np.phandle > max) max = np.phandle;
  return max;
}

function writeU32(value: Uint8Array, offset: number, v: number): void {
  new DataView(value.buffer, value.byteOffset, value.byteLength).setUint32(offset, v >>> 0);
}

/** adjust_overlay_phandles: every node's phandle and its phandle properties move by `delta` (u32). */
function adjustOverlayPhandles(np: OverlayNode, delta: number): void {
  if (np.phandle !== 0 && np.phandle !== OF_PHANDLE_ILLEGAL) np.phandle = (np.phandle + delta) >>> 0;
  for (const p of np.props) {
    if (p.name !== 'phandle' && p.name !== 'linux,phandle') continue;
    if (p.value.length < 4 || readU32(p.value) === OF_PHANDLE_ILLEGAL) continue;
    writeU32(p.value, 0, np.phandle);
  }
  for (const c of np.children) adjustOverlayPhandles(c, delta);
}

/** adjust_local_phandle_references: two subtrees walked side by side, matched by full name. */
function adjustLocalPhandleReferences(
  local: OverlayNode | undefined,
  overlay: OverlayNode,
  delta: number,
): number {
  if (!local) return 0;
  for (const fix of local.props) {
    if (fix.name === 'name' || fix.name === 'phandle' || fix.name === 'linux,phandle') continue;
    if (fix.value.length % 4 !== 0 || fix.value.length === 0) return -EINVAL;
    const prop = overlay.props.find((p) => p.name === fix.name);
    if (!prop) return -EINVAL;
    for (let i = 0; i < fix.value.length / 4; i++) {
      const off = readU32(fix.value, i)!;
      if (off + 4 > prop.value.length) return -EINVAL;
      writeU32(prop.value, off, readU32(prop.value.subarray(off), 0)! + delta);
    }
  }
  for (const child of local.children) {
    const match = overlay.children.find((c) => c.fullName === child.fullName);
    if (!match) return -EINVAL;
    const err = adjustLocalPhandleReferences(child, match, delta);
    if (err) return err;
  }
  return 0;
}

/** kstrtoint(s, 10): an optional sign, decimal digits, an optional trailing newline; nothing else. */
function kstrtoint(s: string): number | null {
  if (!/^[+-]?\d+\n?$/.test(s)) return null;
  const v = Number.parseInt(s, 10);
  return v > 0x7fffffff || v < -0x80000000 ? null : v;
}

/**
 * update_usages_of_a_phandle_reference: the fixup is a list of `path:property:offset` strings; each
 * names a cell of the overlay to set to `phandle`. A path the overlay does not have is skipped.
 */
function updateUsages(overlay: OverlayNode, fixup: Uint8Array, phandle: number): number {
  const text = new TextDecoder('latin1').decode(fixup);
  let cur = 0;
  while (cur < text.length) {
    let end = text.indexOf('\0', cur);
    if (end < 0) end = text.length;
    const entry = text.slice(cur, end);
    cur = end + 1;
    const c1 = entry.indexOf(':');
    if (c1 < 0) return -EINVAL;
    const c2 = entry.indexOf(':', c1 + 1);
    if (c2 < 0) return -EINVAL;
    const offset = kstrtoint(entry.slice(c2 + 1));
    if (offset === null) return -EINVAL;
    const ref = overlayFindByPath(overlay, entry.slice(0, c1));
    if (!ref) continue;
    const prop = ref.props.find((p) => p.name === entry.slice(c1 + 1, c2));
    if (!prop) return -ENOENT;
    if (offset < 0 || offset + 4 > prop.value.length) return -EINVAL;
    writeU32(prop.value, offset, phandle);
  }
  return 0;
}

/** of_property_read_string: the string up to its NUL, or null when absent or not terminated. */
function readString(np: DeviceNode, name: string): string | null {
  const v = ofFindProperty(np, name)?.value;
  if (!v) return null;
  const nul = v.indexOf(0);
  return nul < 0 ? null : new TextDecoder().decode(v.subarray(0, nul));
}

/** of_resolve_phandles. Returns 0 or a negative errno; the overlay's values are rewritten in place. */
export function ofResolvePhandles(of: OfState, overlay: OverlayNode): number {
  return of.k.fn('of_resolve_phandles', () => {
    let symbols: DeviceNode | null = null;
    const err = resolve();
    if (err) resolverErr(of, `overlay phandle fixup failed: ${err}`);
    ofNodePut(of, symbols, RESOLVER_HOLDER);
    return err;

    function resolve(): number {
      const delta = (liveTreeMaxPhandle(of) + 1) >>> 0;
      adjustOverlayPhandles(overlay, delta);
      const local = overlay.children.find((c) => c.name === '__local_fixups__');
      const err = adjustLocalPhandleReferences(local, overlay, delta);
      if (err) return err;
      let fixups: OverlayNode | undefined;
      for (const c of overlay.children) if (c.name === '__fixups__') fixups = c; // the last one
      if (!fixups) return 0;
      symbols = ofFindNodeByPath(of, '/__symbols__', RESOLVER_HOLDER);
      if (!symbols) {
        resolverErr(of, 'no symbols in root of device tree.');
        return -EINVAL;
      }
      for (const prop of fixups.props) {
        if (prop.name === 'name') continue;
        const refpath = readString(symbols, prop.name);
        if (refpath === null) {
          if (LABEL_MESSAGE[of.k.profile.name])
            resolverErr(of, `node label '${prop.name}' not found in live devicetree symbols table`);
          return -EINVAL;
        }
        const ref = ofFindNodeByPath(of, refpath, RESOLVER_HOLDER);
        if (!ref) return -ENOENT;
        const phandle = ref.phandle;
        ofNodePut(of, ref, RESOLVER_HOLDER);
        const e = updateUsages(overlay, prop.value, phandle);
        if (e) return e;
      }
      return 0;
    }
  });
}
