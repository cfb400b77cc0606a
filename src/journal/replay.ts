// Rebuilding an LPAR from its history (issue 11, point 2): the creation request booted as the
// recorded identity, then every entry sent again through this app's own routes (app.replayInject)
// with its clock readings played back. The model is deterministic, so the result is the LPAR the
// history was recorded from. Used by the replay worker (replay-worker.ts: a registry of its own, the
// recorded id and name, a digest after every line) and by the import (a new id, no digests).

import type { FastifyInstance } from 'fastify';
import { inputFromBody } from '../http/create-body.ts';
import type { Lpar } from '../lpar/lpar.ts';
import type { HistoryFile } from './history-file.ts';

/** Where a replay stopped answering as the history says. */
export interface Divergence {
  /** The entry (from 1). */
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly recordedStatus: number;
  readonly replayedStatus: number;
  /** Clock readings the entry's tape had and the replay did not use (or the replay wanted more). */
  readonly tapeLeft: number;
  /** The replay's problem title and detail, when it answered one. */
  readonly problem: string | null;
}

export interface ReplayOptions {
  /** Boot with the recorded id and name (a registry of its own) instead of a new id. */
  readonly asRecorded: boolean;
  /** The name of the new LPAR (default: the history's). */
  readonly name?: string;
  /** Called after the creation and after every entry (the worker digests the state there). */
  readonly after?: (lpar: Lpar) => void;
}

export interface Replayed {
  readonly lpar: Lpar;
  /** Null when every entry answered as recorded. */
  readonly divergence: Divergence | null;
}

function problemOf(payload: string): string | null {
  try {
    const p = JSON.parse(payload) as { title?: unknown; detail?: unknown };
    return typeof p.title === 'string' ? `${p.title}: ${String(p.detail ?? '')}` : null;
  } catch {
    return null;
  }
}

/** Replays `file` into `app`; stops at the first entry that answers otherwise than recorded. */
export async function replayHistory(
  app: FastifyInstance,
  file: HistoryFile,
  options: ReplayOptions,
): Promise<Replayed> {
  const { header } = file;
  const input = {
    ...inputFromBody(header.create),
    name: options.name ?? header.name,
    identity: header.identity,
    asRecorded: options.asRecorded,
  };
  let lpar = await app.registry.createAsync(input);
  const id = lpar.config.id;
  options.after?.(lpar);
  for (let i = 0; i < file.entries.length; i++) {
    const e = file.entries[i]!;
    app.clock.play(e.tape);
    let res: Awaited<ReturnType<FastifyInstance['replayInject']>>;
    let tapeLeft: number;
    try {
      res = await app.replayInject({
        method: e.method as 'POST',
        url: `/v1/lpars/${id}${e.path}`,
        headers: e.contentType ? { 'content-type': e.contentType } : {},
        ...(e.body ? { payload: Buffer.from(e.body) } : {}),
      });
    } finally {
      tapeLeft = app.clock.endPlay();
    }
    lpar = app.registry.get(id); // a reboot replaced it
    if (res.statusCode !== e.status || tapeLeft !== 0)
      return {
        lpar,
        divergence: {
          seq: i + 1,
          method: e.method,
          path: e.path,
          recordedStatus: e.status,
          replayedStatus: res.statusCode,
          tapeLeft,
          problem: res.statusCode >= 400 ? problemOf(res.payload) : null,
        },
      };
    options.after?.(lpar);
  }
  return { lpar, divergence: null };
}
