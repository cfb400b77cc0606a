// Property values: the encodings of spec/pseries-tree.md (big-endian u32 cells, u64, NUL-terminated
// strings and string lists) and the decoding the API shows as `value`.

export interface Property {
  readonly name: string;
  readonly value: Uint8Array;
}

const encoder = new TextEncoder();

export const enc = {
  empty: (): Uint8Array => new Uint8Array(0),
  string: (s: string): Uint8Array => encoder.encode(`${s}\0`),
  strings: (list: readonly string[]): Uint8Array => encoder.encode(list.map((s) => `${s}\0`).join('')),
  u32: (...cells: number[]): Uint8Array => enc.u32Cells(cells),
  /** Big-endian cells from a list of any length (a spread of a client's list could overflow the stack). */
  u32Cells: (cells: readonly number[]): Uint8Array => {
    const out = new Uint8Array(cells.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < cells.length; i++) view.setUint32(i * 4, cells[i]! >>> 0);
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
  for (let i = 0; i + 4 <= value.length; i += 4)
    cells.push(((value[i]! << 24) | (value[i + 1]! << 16) | (value[i + 2]! << 8) | value[i + 3]!) >>> 0);
  return cells;
}

/** A property value as C code would read it with of_get_property + strlen: up to the first NUL. */
export function cString(value: Uint8Array): string {
  const end = value.indexOf(0);
  return new TextDecoder().decode(end < 0 ? value : value.subarray(0, end));
}

/**
 * Printable string list as dtc judges it: NUL-terminated, no empty string, characters 0x20-0x7e only.
 * Such a list is ASCII, so it is read from the bytes without a UTF-8 decoder (node documents decode
 * every property of a node on each GET).
 */
function asStringList(value: Uint8Array): string[] | null {
  const n = value.length;
  if (n < 2 || value[n - 1] !== 0) return null; // [0] alone is one empty string
  for (let i = 0; i < n - 1; i++) {
    const b = value[i]!;
    if (b === 0) {
      if (i === 0 || value[i - 1] === 0) return null; // an empty string
    } else if (b < 0x20 || b > 0x7e) return null;
  }
  if (n >= 2 && value[n - 2] === 0) return null; // the last string is empty
  const body = value.subarray(0, n - 1);
  const text =
    body.length <= 64
      ? String.fromCharCode.apply(null, body as unknown as number[])
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  return text.split('\0');
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
  const cells = u32Cells(value);
  const out: string[] = [];
  for (let i = 0; i < cells.length; i += 2) {
    const hi = cells[i]!;
    const lo = cells[i + 1]!;
    out.push(hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`);
  }
  return out;
}

/** Lower-case hex: a table for short values, Buffer's native encoder for longer ones. */
export function toHex(value: Uint8Array): string {
  if (value.length > 16) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  let out = '';
  for (let i = 0; i < value.length; i++) out += HEX[value[i]!];
  return out;
}
