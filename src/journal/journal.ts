// The durable journal (issue 11): with LPARSIM_DATA_DIR set, every request that changed an LPAR's model
// is appended here before its response is sent, and replayed at start. node:sqlite, WAL, synchronous=FULL:
// an append has reached the disk when it returns, so an acknowledged request survives a crash.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export interface JournalEntry {
  readonly seq: number;
  /** lparsim's version when the request ran: a replay refuses entries of another. */
  readonly version: string;
  readonly method: string;
  /** Path and query, as the client sent them. */
  readonly url: string;
  readonly contentType: string | null;
  readonly body: Uint8Array | null;
  /** The status the request was answered with: a replay that answers otherwise has diverged. */
  readonly status: number;
  /** The clock readings the request made (ServiceClock). */
  readonly tape: readonly number[];
}

export const JOURNAL_FILE = 'journal.sqlite';

export class Journal {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new DatabaseSync(join(dir, JOURNAL_FILE));
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = FULL');
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        version TEXT NOT NULL,
        method TEXT NOT NULL,
        url TEXT NOT NULL,
        content_type TEXT,
        body BLOB,
        status INTEGER NOT NULL,
        tape TEXT NOT NULL
      )`,
    );
    this.insert = this.db.prepare(
      'INSERT INTO entries (version, method, url, content_type, body, status, tape) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  append(e: Omit<JournalEntry, 'seq'>): number {
    const r = this.insert.run(
      e.version,
      e.method,
      e.url,
      e.contentType,
      e.body,
      e.status,
      JSON.stringify(e.tape),
    );
    return Number(r.lastInsertRowid);
  }

  /** Every entry in order. */
  *entries(): IterableIterator<JournalEntry> {
    const rows = this.db.prepare('SELECT * FROM entries ORDER BY seq').iterate() as IterableIterator<
      Record<string, unknown>
    >;
    for (const r of rows)
      yield {
        seq: Number(r.seq),
        version: String(r.version),
        method: String(r.method),
        url: String(r.url),
        contentType: r.content_type === null ? null : String(r.content_type),
        body: r.body === null ? null : new Uint8Array(r.body as Uint8Array),
        status: Number(r.status),
        tape: JSON.parse(String(r.tape)) as number[],
      };
  }

  get count(): number {
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number };
    return Number(row.n);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
