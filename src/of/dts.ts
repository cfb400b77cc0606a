// Device tree source text from a flattened tree, formatted the way `dtc -O dts` guesses types. The
// text comes in chunks (dtsChunks) from a pre-order walk with an explicit stack, so a tree of any
// width or depth is written without recursion and without holding the whole text.

import { type FdtNode, type FdtReserveEntry, fdtTree, type TreeAdapter, walkTree } from './fdt.ts';
import { decodeValue, toHex } from './property.ts';

function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function formatValue(value: Uint8Array): string {
  const decoded = decodeValue(value);
  switch (decoded.kind) {
    case 'empty':
      return '';
    case 'string':
      return ` = "${escapeString(decoded.value)}"`;
    case 'strings':
      return ` = ${decoded.value.map((s) => `"${escapeString(s)}"`).join(', ')}`;
    case 'u32':
      return ` = <${decoded.value.map((c) => `0x${c.toString(16)}`).join(' ')}>`;
    case 'bytes':
      return ` = [${toHex(value).replace(/(..)(?!$)/g, '$1 ')}]`;
  }
}

/** Characters of text each chunk carries (about; only a large value's line is split). */
export const DTS_CHUNK_CHARS = 64 * 1024;

/** Values above this size are formatted in pieces, with steps between them. */
const LARGE_VALUE = 4096;
/** Cells, strings or bytes per piece of a large value. */
const PIECE = 4096;

/**
 * What `formatValue` makes of a large value, in pieces: the same guess (decodeValue's rules, read
 * from the bytes: a string list is NUL-terminated, non-empty parts of printable ASCII), the same text.
 */
function* formatLargeValue(value: Uint8Array): Generator<string, void, undefined> {
  let strings = value[value.length - 1] === 0 && value[0] !== 0;
  for (let i = 0; strings && i < value.length - 1; i++) {
    const b = value[i]!;
    if (b === 0) strings = value[i + 1] !== 0;
    else if (b < 0x20 || b > 0x7e) strings = false;
  }
  if (strings) {
    const parts = new TextDecoder().decode(value.subarray(0, value.length - 1)).split('\0');
    yield ' = ';
    for (let i = 0; i < parts.length; i += PIECE) {
      const piece = parts.slice(i, i + PIECE).map((s) => `"${escapeString(s)}"`);
      yield (i === 0 ? '' : ', ') + piece.join(', ');
    }
    return;
  }
  if (value.length % 4 === 0) {
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    yield ' = <';
    for (let i = 0; i < value.length; i += 4 * PIECE) {
      let piece = '';
      for (let j = i; j < Math.min(value.length, i + 4 * PIECE); j += 4)
        piece += `${j === 0 ? '' : ' '}0x${view.getUint32(j).toString(16)}`;
      yield piece;
    }
    yield '>';
    return;
  }
  yield ' = [';
  for (let i = 0; i < value.length; i += PIECE) {
    const hex = toHex(value.subarray(i, i + PIECE)).replace(/(..)(?!$)/g, '$1 ');
    yield (i === 0 ? '' : ' ') + hex;
  }
  yield ']';
}

/**
 * The source text in chunks. `/memreserve/` lines come as `dtc -O dts` prints them (treesource.c
 * dt_to_source: after `/dts-v1/;` and a blank line, a tab, address and size as 0x%016llx), just before
 * the root node `/ {`. `null` steps carry no text: they mark a bounded amount of work done.
 */
export function* dtsChunks<N>(
  root: N,
  tree: TreeAdapter<N>,
  reservations: readonly FdtReserveEntry[] = [],
): Generator<string | null, void, undefined> {
  let out = '/dts-v1/;\n\n';
  const hex = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
  for (const r of reservations) out += `/memreserve/\t${hex(r.address)} ${hex(r.size)};\n`;
  const pads: string[] = [];
  for (let d = 0; d <= 64; d++) pads.push('\t'.repeat(d));
  const pad = (depth: number) => pads[depth] ?? '\t'.repeat(depth);
  let nodes = 0;
  for (const step of walkTree(root, tree)) {
    const p = pad(step.depth);
    if (!step.open) {
      out += `${p}};\n`;
      continue;
    }
    // Every node but the root follows a blank line (it comes after its parent's properties or the
    // end of its previous sibling).
    if (step.depth > 0) out += `\n${p}${tree.name(step.node, false)} {\n`;
    else out += '/ {\n';
    for (const prop of tree.props(step.node)) {
      if (prop.value.length <= LARGE_VALUE) {
        out += `${p}\t${prop.name}${formatValue(prop.value)};\n`;
        continue;
      }
      out += `${p}\t${prop.name}`;
      for (const piece of formatLargeValue(prop.value)) {
        out += piece;
        if (out.length >= DTS_CHUNK_CHARS) {
          yield out;
          out = '';
        }
      }
      out += ';\n';
    }
    if (out.length >= DTS_CHUNK_CHARS) {
      yield out;
      out = '';
    } else if (++nodes % 256 === 0) yield null;
  }
  yield out;
}

export function toDts(root: FdtNode): string {
  let text = '';
  for (const chunk of dtsChunks(root, fdtTree)) if (chunk) text += chunk;
  return text;
}
