// Property values: the encodings of spec/pseries-tree.md (big-endian u32 cells, u64, NUL-terminated
// strings and string lists) and the decoding the API shows as `value`.

export interface Property {
  readonly name: string;
  readonly value: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const enc = {
  empty: (): Uint8Array => new Uint8Array(0),
  string: (s: string): Uint8Array => encoder.encode(`${s}\0`),
  strings: (list: readonly string[]): Uint8Array => encoder.encode(list.map((s) => `${s}\0`).join('')),
  u32: (...cells: number[]): Uint8Array => {
    const out = new Uint8Array(cells.length * 4);
    const view = new DataView(out.buffer);
    cells.forEach((c, i) => {
      view.setUint32(i * 4, c >>> 0);
    });
    return out;
  },
  u64: (...values: bigint[]): Uint8Array => {
    const out = new Uint8Array(values.length * 8);
    const view = new DataView(out.buffer);
    values.forEach((v, i) => {
      view.setBigUint64(i * 8, BigInt.asUintN(64, v));
    });
    return out;
  },
  bytes: (bytes: readonly number[]): Uint8Array => Uint8Array.from(bytes),
  concat: (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  },
};

export function readU32(value: Uint8Array, index = 0): number | undefined {
  if (value.length < (index + 1) * 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(index * 4);
}

export function u32Cells(value: Uint8Array): number[] {
  const cells: number[] = [];
  for (let i = 0; i + 4 <= value.length; i += 4) cells.push(readU32(value, i / 4)!);
  return cells;
}

/** A property value as C code would read it with of_get_property + strlen: up to the first NUL. */
export function cString(value: Uint8Array): string {
  const end = value.indexOf(0);
  return new TextDecoder().decode(end < 0 ? value : value.subarray(0, end));
}

/** Printable string list as dtc judges it: NUL-terminated, non-empty, printable characters only. */
function asStringList(value: Uint8Array): string[] | null {
  if (value.length === 0 || value[value.length - 1] !== 0) return null;
  let text: string;
  try {
    text = decoder.decode(value.subarray(0, value.length - 1));
  } catch {
    return null;
  }
  const parts = text.split('\0');
  if (parts.some((p) => p.length === 0 || !/^[\x20-\x7e]+$/.test(p))) return null;
  return parts;
}

export type DecodedValue =
  | { readonly kind: 'empty' }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'strings'; readonly value: string[] }
  | { readonly kind: 'u32'; readonly value: number[] }
  | { readonly kind: 'bytes' };

/** The decoding the node document shows; u64 properties read as pairs of u32 cells, as dtc prints them. */
export function decodeValue(value: Uint8Array): DecodedValue {
  if (value.length === 0) return { kind: 'empty' };
  const strings = asStringList(value);
  if (strings)
    return strings.length === 1
      ? { kind: 'string', value: strings[0]! }
      : { kind: 'strings', value: strings };
  if (value.length % 4 === 0) return { kind: 'u32', value: u32Cells(value) };
  return { kind: 'bytes' };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A value as big-endian u64 cells (hex strings: they exceed JavaScript's safe integers); null unless 8-byte aligned. */
export function u64Cells(value: Uint8Array): string[] | null {
  if (value.length === 0 || value.length % 8 !== 0) return null;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const out: string[] = [];
  for (let i = 0; i < value.length; i += 8) out.push(`0x${view.getBigUint64(i).toString(16)}`);
  return out;
}

export function toHex(value: Uint8Array): string {
  let out = '';
  for (const b of value) out += HEX[b];
  return out;
}
