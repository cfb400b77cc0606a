// `ibm,drc-info` as the kernel reads it (arch/powerpc/platforms/pseries/of_helpers.c
// of_read_drc_info_cell): a u32 count, then per entry the drc type and name prefix as strings and five
// u32 cells (index start, name-suffix start, number of elements, increment, power domain), as 5.8 and
// later read it. Its only readers here are 5.8+ code (rpaphp's v2 check, 6.12's dt resource); the
// earlier reader, one cell off, served only FW_FEATURE_DRC_INFO paths those releases never take
// (docs/kernel-notes.md note 53).

/** Types and prefixes are C strings: latin1 keeps each byte one character. */
const textDecoder = new TextDecoder('latin1');

/** One entry as of_read_drc_info_cell fills struct of_drc_info. */
export interface DrcInfoCell {
  readonly type: string;
  readonly prefix: string;
  readonly indexStart: number;
  readonly suffixStart: number;
  readonly count: number;
  readonly increment: number;
  readonly powerDomain: number;
  /** drc_index_start + (elements - 1) * increment, in u32 arithmetic. */
  readonly last: number;
}

/** A cell where one starts inside the value; the bytes past the end read as zeros here. */
function cellAt(value: Uint8Array, at: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v = (v << 8) | (at + i < value.length ? value[at + i]! : 0);
  return v >>> 0;
}

/** of_prop_next_string: the offset after the string at `from`, or null when that is at or past the end. */
function nextString(value: Uint8Array, from: number): number | null {
  let end = from;
  while (end < value.length && value[end] !== 0) end++;
  const next = end + 1;
  return next >= value.length ? null : next;
}

/** of_prop_next_u32 from the cell at `at`: the next cell's offset, or null when it starts at or past the end. */
function nextU32(value: Uint8Array, at: number): number | null {
  const next = at + 4;
  return next >= value.length ? null : next;
}

function stringAt(value: Uint8Array, from: number): string {
  let end = from;
  while (end < value.length && value[end] !== 0) end++;
  return textDecoder.decode(value.subarray(from, end));
}

/**
 * of_read_drc_info_cell at byte offset `at`: the entry and the offset the cursor is left at, or null
 * where the kernel's reader answers -EINVAL (a string or a cell that starts past the value).
 */
function readDrcInfoCell(value: Uint8Array, at: number): { cell: DrcInfoCell; next: number } | null {
  const afterType = nextString(value, at);
  if (afterType === null) return null;
  const afterPrefix = nextString(value, afterType);
  if (afterPrefix === null) return null;
  let p = afterPrefix;
  const indexStart = cellAt(value, p);
  const fields: number[] = [];
  for (let i = 0; i < 4; i++) {
    const q = nextU32(value, p);
    if (q === null) return null;
    p = q;
    fields.push(cellAt(value, p));
  }
  const [suffixStart, count, increment, powerDomain] = fields as [number, number, number, number];
  return {
    cell: {
      type: stringAt(value, at),
      prefix: stringAt(value, afterType),
      indexStart,
      suffixStart,
      count,
      increment,
      powerDomain,
      last: (indexStart + Math.imul((count - 1) >>> 0, increment)) >>> 0,
    },
    next: p + 4,
  };
}

/**
 * The entries of a value as its callers walk them (the count cell skipped first), stopping at the
 * first entry the reader refuses.
 */
export function drcInfoCells(value: Uint8Array): DrcInfoCell[] {
  const out: DrcInfoCell[] = [];
  if (value.length < 4) return out;
  const n = cellAt(value, 0);
  let at = 4;
  for (let i = 0; i < n; i++) {
    const r = readDrcInfoCell(value, at);
    if (!r) break;
    out.push(r.cell);
    at = r.next;
  }
  return out;
}
