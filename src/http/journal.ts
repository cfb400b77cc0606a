// The journal's place in the HTTP layer (issue 11, point 1). With LPARSIM_DATA_DIR set:
// - every request that may change a model runs alone: a process-wide lock is taken before its
//   handler and let go once it is answered, so the journal's order is the order the model saw, across
//   LPARs too (ids are given out in that order). Exports and event streams only look and do not wait;
// - a request is journaled, before its response is sent, when it is not a GET (creates, deletes,
//   reboots, migrations, edits, references) or when it is a GET that ran a kernel action on its LPAR
//   (a phandle lookup, a devspec read: Lpar.actions moved), with the clock readings it made;
// - at start, replayJournal runs every entry again through the same routes, in order, with its clock
//   readings: the model is deterministic, so every LPAR comes back exactly as it was.
// Without the variable nothing here runs and state is in memory.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceClock } from '../journal/clock.ts';
import type { Journal } from '../journal/journal.ts';
import type { Lpar } from '../lpar/lpar.ts';
import { OPENAPI_INFO } from './plugins/swagger.ts';

/** The lparsim version written with each entry (the OpenAPI document's); a replay refuses entries of another. */
export const JOURNAL_VERSION = OPENAPI_INFO.version;

/** Set on requests of routes that only read and may take long (exports, event streams). */
const LOOK_ONLY = Symbol('look-only');

/**
 * For a plugin whose routes only read and may stream for long: they neither wait for the lock nor are
 * journaled (exports.ts, events.ts).
 */
export function lookOnlyRoutes(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    (request as Tracked)[LOOK_ONLY] = true;
  });
}

interface Pending {
  readonly lpar: Lpar | null;
  readonly actionsBefore: number;
  release: (() => void) | null;
}

const PENDING = Symbol('journal');
type Tracked = FastifyRequest & { [PENDING]?: Pending; [LOOK_ONLY]?: true };

/** One at a time, in arrival order. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return ready;
  }
}

function lparOf(app: FastifyInstance, req: FastifyRequest): Lpar | null {
  const id = (req.params as { lpar?: unknown } | undefined)?.lpar;
  if (typeof id !== 'string') return null;
  try {
    return app.registry.get(id);
  } catch {
    return null;
  }
}

export function registerJournal(app: FastifyInstance, journal: Journal, clock: ServiceClock): void {
  const lock = new Mutex();
  let replaying = false;
  app.decorate('journalReplay', async () => {
    replaying = true;
    try {
      return await replayJournal(app, journal, clock);
    } finally {
      replaying = false;
    }
  });

  app.addHook('preHandler', async (request) => {
    const req = request as Tracked;
    if (!req.url.startsWith('/v1/') || req[LOOK_ONLY]) return;
    const release = await lock.acquire();
    const lpar = lparOf(app, req);
    req[PENDING] = { lpar, actionsBefore: lpar?.actions ?? 0, release };
    if (!replaying) clock.record();
  });

  const finish = (req: Tracked, status: number) => {
    const p = req[PENDING];
    if (!p?.release) return;
    try {
      const tape = replaying ? [] : clock.stop();
      const changed = req.method !== 'GET' || (p.lpar !== null && p.lpar.actions !== p.actionsBefore);
      if (!replaying && changed) {
        const body = req.body;
        journal.append({
          version: JOURNAL_VERSION,
          method: req.method,
          url: req.url,
          contentType: typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : null,
          body:
            body === undefined || body === null
              ? null
              : body instanceof Uint8Array
                ? body
                : new TextEncoder().encode(JSON.stringify(body)),
          status,
          tape,
        });
      }
    } finally {
      p.release();
      p.release = null;
    }
  };
  // Before the response goes out: an acknowledged request is on disk.
  app.addHook('onSend', async (request, reply, payload) => {
    finish(request as Tracked, reply.statusCode);
    return payload;
  });
  // A reply that skipped onSend (hijacked) is journaled and lets the lock go once written. There is
  // no release on a client's abort: the handler still runs to its end, and what it changed must be
  // journaled before anything else runs, or a replay would diverge from what came after it.
  app.addHook('onResponse', async (request, reply) => finish(request as Tracked, reply.statusCode));
}

export interface ReplayResult {
  readonly entries: number;
  /** Entries whose replay answered another status, or used another number of clock readings. */
  readonly diverged: ReadonlyArray<{ seq: number; url: string; status: number; replayed: number }>;
}

async function replayJournal(
  app: FastifyInstance,
  journal: Journal,
  clock: ServiceClock,
): Promise<ReplayResult> {
  const diverged: Array<{ seq: number; url: string; status: number; replayed: number }> = [];
  let entries = 0;
  const token = app.lparsimConfig.LPARSIM_TOKEN;
  for (const e of journal.entries()) {
    if (e.version !== JOURNAL_VERSION)
      throw new Error(
        `journal entry ${e.seq} was written by lparsim ${e.version}; this is ${JOURNAL_VERSION} (move the journal in LPARSIM_DATA_DIR aside to start empty)`,
      );
    clock.play(e.tape);
    const headers: Record<string, string> = {};
    if (e.contentType) headers['content-type'] = e.contentType;
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await app.inject({
      method: e.method as 'POST',
      url: e.url,
      headers,
      ...(e.body ? { payload: Buffer.from(e.body) } : {}),
    });
    const left = clock.endPlay();
    entries += 1;
    if (res.statusCode !== e.status || left !== 0)
      diverged.push({ seq: e.seq, url: e.url, status: e.status, replayed: res.statusCode });
  }
  return { entries, diverged };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every reading of real time a model sees (decorated by buildApp). */
    clock: ServiceClock;
    /** Replays LPARSIM_DATA_DIR's journal (main.ts, before listening); absent without a journal. */
    journalReplay?: () => Promise<ReplayResult>;
  }
}
