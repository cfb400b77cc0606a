// An LPAR's history (issue 11, point 2): every request that changed its model after the create, in
// the order the model saw them, as the client sent them (relative to the LPAR's URL) with the clock
// readings each made. With the creation request and the LPAR's identity it is everything a replay
// needs to rebuild the LPAR anywhere, because the model is deterministic: GET …/journal exports it,
// POST /v1/lpars/import replays it. A reboot is an entry like any other; a delete ends the history.

/** One request that changed the LPAR (or ran a kernel action on it, such as a phandle lookup). */
export interface HistoryEntry {
  readonly method: string;
  /** What follows `/v1/lpars/{lpar}` in the URL, with the query: `/migrations`, `/proc/ppc64/ofdt`. */
  readonly path: string;
  readonly contentType: string | null;
  readonly body: Uint8Array | null;
  /** What the request was answered: a replay that answers otherwise has diverged. */
  readonly status: number;
  /** Its readings of real time (journal/clock.ts), played back by a replay. */
  readonly tape: readonly number[];
}

/** Bytes an entry is charged besides its body (the record, its path and its tape). */
export const HISTORY_ENTRY_OVERHEAD = 160;

export function historyEntryBytes(e: HistoryEntry): number {
  return HISTORY_ENTRY_OVERHEAD + e.path.length + (e.body?.length ?? 0) + 8 * e.tape.length;
}

export class LparHistory {
  private readonly list: HistoryEntry[] = [];
  private size = 0;
  /** Set once an entry did not fit under the limit: from then on the history cannot rebuild the LPAR. */
  private overflowAt: number | null = null;

  private readonly maxBytes: number;

  /** `maxBytes`: LPARSIM_MAX_HISTORY_BYTES. */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  record(e: HistoryEntry): void {
    if (this.overflowAt !== null) return;
    const bytes = historyEntryBytes(e);
    if (this.size + bytes > this.maxBytes) {
      // The entries so far stay (they were true), but no replay of them is this LPAR any more.
      this.overflowAt = this.list.length + 1;
      return;
    }
    this.list.push(e);
    this.size += bytes;
  }

  /** The entries so far: a copy, so an export is a snapshot however the LPAR goes on. */
  entries(): readonly HistoryEntry[] {
    return this.list.slice();
  }

  get length(): number {
    return this.list.length;
  }

  get bytes(): number {
    return this.size;
  }

  /** The number (from 1) of the first entry that did not fit, or null while the history is whole. */
  get overflowedAt(): number | null {
    return this.overflowAt;
  }
}
