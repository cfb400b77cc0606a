// Where requests are put in one order, recorded and journaled (issue 11). In every app:
// - a request that may change a model runs alone: a lock is taken before its handler and let go
//   once it is answered. With LPARSIM_DATA_DIR it is one lock for the service, so the journal's order
//   is the order every model saw (ids are given out in it); without, one lock per LPAR, so that each
//   history is in its model's order while creates and other LPARs run side by side. Routes that only
//   look do not wait: a plugin declares all of its routes so with lookOnlyRoutes (exports, event
//   streams), a route with `config: { lookOnly: true }`;
// - a request on an LPAR that changed it (it ran a kernel action: Lpar.actions moved; or it was not
//   a GET and was not refused) is recorded in that LPAR's history with its clock readings
//   (lpar/history.ts), which GET …/journal exports and POST /v1/lpars/import replays;
// - with LPARSIM_DATA_DIR, every request that may have changed a model (creates and deletes too) is
//   appended to the durable journal before its response is sent, and replayed at start, in order,
//   with its clock readings: the model is deterministic, so every LPAR comes back exactly as it was.
// A request that replays others itself (an import) sends them with app.replayInject: they run under
// its lock and its journal entry, and are recorded in the history of the LPAR they act on.

import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { ServiceClock } from '../journal/clock.ts';
import type { Journal } from '../journal/journal.ts';
import { LparError } from '../lpar/errors.ts';
import type { HistoryEntry } from '../lpar/history.ts';
import type { Lpar } from '../lpar/lpar.ts';
import { OPENAPI_INFO } from './plugins/swagger.ts';

/** The lparsim version written with each entry (the OpenAPI document's); a replay refuses entries of another. */
export const JOURNAL_VERSION = OPENAPI_INFO.version;

/**
 * For a plugin whose routes only read and may stream for long: they neither wait for the lock nor are
 * journaled (exports.ts, events.ts). Marked in each route's config, as `config: { lookOnly: true }`
 * does, so the OpenAPI document sees it too (plugins/contract.ts: the journal never refuses them).
 */
export function lookOnlyRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), lookOnly: true };
  });
}

/** The header an app's own replays carry, with a key only it knows (no client can skip the lock). */
const REPLAY_HEADER = 'x-lparsim-replay';

interface Pending {
  readonly lpar: Lpar | null;
  readonly actionsBefore: number;
  /** Sent by this app's own replay: it runs under the replaying request's lock and journal entry. */
  readonly inner: boolean;
  release: (() => void) | null;
  finished: boolean;
}

const PENDING = Symbol('journal');
type Tracked = FastifyRequest & { [PENDING]?: Pending };

/** One at a time, in arrival order. */
export class Mutex {
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

/** A Mutex per key, dropped when nobody holds or waits for it. */
class KeyedMutex {
  private readonly held = new Map<string, { mutex: Mutex; users: number }>();
  async acquire(key: string): Promise<() => void> {
    let slot = this.held.get(key);
    if (!slot) {
      slot = { mutex: new Mutex(), users: 0 };
      this.held.set(key, slot);
    }
    slot.users += 1;
    const release = await slot.mutex.acquire();
    return () => {
      release();
      slot.users -= 1;
      if (slot.users === 0) this.held.delete(key);
    };
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

/** `/v1/lpars/{lpar}/migrations?x` → `/migrations?x`; null for a request on the LPAR itself or none. */
const LPAR_URL = /^\/v1\/lpars\/[^/?]+(\/[^?]*(?:\?.*)?)$/;

function bodyBytes(body: unknown): Uint8Array | null {
  if (body === undefined || body === null) return null;
  if (body instanceof Uint8Array) return body;
  return new TextEncoder().encode(JSON.stringify(body));
}

export function registerJournal(app: FastifyInstance, journal: Journal | null, clock: ServiceClock): void {
  // With a durable journal, one order for the whole service (the journal's, ids included); without
  // one, an order per LPAR (its history's), so that creates and different LPARs still run side by side.
  const serviceLock = journal ? new Mutex() : null;
  const lparLocks = new KeyedMutex();
  const replayKey = randomBytes(16).toString('hex');
  let replaying = false;
  // Once an append fails the model holds a change the journal does not: from then on this instance
  // takes no request that may change a model (503), so nothing acknowledged ever depends on it.
  let broken: string | null = null;
  app.decorate('journalReplaying', () => replaying);
  app.decorate('journalBroken', () => broken);
  app.decorate('journal', journal);
  app.decorate('replayInject', (options: InjectOptions): Promise<LightMyRequestResponse> => {
    const token = app.lparsimConfig.LPARSIM_TOKEN;
    return app.inject({
      ...options,
      headers: {
        ...(options.headers ?? {}),
        [REPLAY_HEADER]: replayKey,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
  });
  if (journal)
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
    if (!req.url.startsWith('/v1/') || req.routeOptions.config?.lookOnly) return;
    const inner = req.headers[REPLAY_HEADER] === replayKey;
    if (broken && !inner) throw journalUnavailable(broken);
    const named = (req.params as { lpar?: unknown } | undefined)?.lpar;
    let release: (() => void) | null = null;
    if (!inner && serviceLock) release = await serviceLock.acquire();
    else if (!inner && typeof named === 'string')
      release = await lparLocks.acquire(lparOf(app, req)?.config.id ?? named);
    const lpar = lparOf(app, req);
    req[PENDING] = { lpar, actionsBefore: lpar?.actions ?? 0, inner, release, finished: false };
    if (!inner && !replaying) clock.record();
  });

  const finish = (req: Tracked, status: number) => {
    const p = req[PENDING];
    if (!p || p.finished) return;
    p.finished = true;
    try {
      const tape = p.inner || replaying ? null : clock.stop();
      // A refusal (4xx, 5xx) that ran no kernel action changed nothing (a 507 before the kernel saw
      // the write); one that did (an ofdt errno after dmesg was written) is part of the story.
      const acted = p.lpar !== null && p.lpar.actions !== p.actionsBefore;
      const changedLpar = p.lpar !== null && (acted || (req.method !== 'GET' && status < 400));
      const changed = req.method !== 'GET' || changedLpar;
      if (!changed) return;
      const body = bodyBytes(req.body);
      const contentType =
        typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : null;
      const path = LPAR_URL.exec(req.url)?.[1];
      if (changedLpar && path !== undefined) {
        const id = p.lpar!.config.id;
        // Deleted meanwhile (or by this request): its history went with it.
        if (app.registry.lpars.has(id)) {
          const entry: HistoryEntry = {
            method: req.method,
            path,
            contentType,
            body,
            status,
            tape: tape ?? innerTape(req),
          };
          app.registry.history(id).record(entry);
        }
      }
      if (journal && !p.inner && !replaying)
        try {
          journal.append({
            version: JOURNAL_VERSION,
            method: req.method,
            url: req.url,
            contentType,
            body,
            status,
            tape: tape ?? [],
          });
        } catch (e) {
          broken = e instanceof Error ? e.message : String(e);
          req.log.error({ err: e }, 'journal append failed: no more changes are taken');
          throw journalUnavailable(broken);
        }
    } finally {
      p.release?.();
      p.release = null;
    }
  };
  // Before the response goes out: an acknowledged request is recorded and on disk.
  app.addHook('onSend', async (request, reply, payload) => {
    finish(request as Tracked, reply.statusCode);
    return payload;
  });
  // A reply that skipped onSend (hijacked) is journaled and lets the lock go once written. There is
  // no release on a client's abort: the handler still runs to its end, and what it changed must be
  // journaled before anything else runs, or a replay would diverge from what came after it.
  app.addHook('onResponse', async (request, reply) => finish(request as Tracked, reply.statusCode));
}

function journalUnavailable(why: string): LparError {
  return new LparError(
    'unavailable',
    'Journal unavailable',
    `the durable journal (LPARSIM_DATA_DIR) could not be written (${why}), so this instance takes no more changes; restart it: the journal holds every acknowledged request`,
  );
}

/** The readings a replayed request was played (journal/clock.ts keeps them while it plays). */
function innerTape(req: FastifyRequest): readonly number[] {
  return req.server.clock.played();
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
    /** The durable journal (LPARSIM_DATA_DIR), or null. */
    journal: Journal | null;
    /** Why the durable journal could not be written, or null (requests that may change answer 503). */
    journalBroken: () => string | null;
    /** Whether the durable journal is being replayed (requests then are not journaled again). */
    journalReplaying: () => boolean;
    /** A request of this app's own replay (an import): it runs under the caller's lock and entry. */
    replayInject: (options: InjectOptions) => Promise<LightMyRequestResponse>;
  }
  interface FastifyContextConfig {
    /** The route only reads: it does not wait for the lock and is never journaled. */
    lookOnly?: boolean;
  }
}
