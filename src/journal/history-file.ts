// The portable form of an LPAR's history (GET /v1/lpars/{lpar}/journal, POST /v1/lpars/import): JSON
// lines, so a person can read what was done and a tool can stream it.
//   line 1      {"format":"lparsim-journal/1","version","lpar","name","identity","create","digest"}
//   lines 2…n   {"seq","method","path","contentType","body"|"body64","status","tape","digest"}
//   last line   {"end":true,"entries","digest"}
// `create` is the JSON body of the creation request (a blob as base64) and `identity` who the LPAR was
// born as (the tree's partition name and number, the kernel seed, the creation time). Every `digest`
// is lparDigest of the state after that line, computed by replaying the history as recorded
// (journal/replay.ts), so an import can say at which request a replay diverges. A JSON body is kept as
// JSON, any other as base64. The trailer makes a cut file visible.

import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { CreateLparBody } from '../http/schemas/lpars.ts';
import type { HistoryEntry } from '../lpar/history.ts';

export const HISTORY_FORMAT = 'lparsim-journal/1';
export const HISTORY_MEDIA_TYPE = 'application/x-ndjson';

const Digest = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Tape = Type.Array(Type.Number(), { maxItems: 4096 });

export const HistoryIdentity = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    partitionNo: Type.Integer({ minimum: 0, maximum: 0xffffffff }),
    kernelSeed: Type.Integer({ minimum: -0x80000000, maximum: 0xffffffff }),
    createdAt: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const HistoryHeader = Type.Object(
  {
    format: Type.Literal(HISTORY_FORMAT),
    version: Type.String({ maxLength: 64 }),
    lpar: Type.String({ maxLength: 64, description: 'the id it was exported from' }),
    name: Type.String({ maxLength: 64 }),
    identity: HistoryIdentity,
    create: CreateLparBody,
    digest: Digest,
  },
  { additionalProperties: false },
);

export const HistoryLine = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    method: Type.Union(['POST', 'PUT', 'PATCH', 'DELETE', 'GET'].map((m) => Type.Literal(m))),
    path: Type.String({ minLength: 1, maxLength: 65536, pattern: '^/' }),
    contentType: Type.Union([Type.String({ maxLength: 256 }), Type.Null()]),
    body: Type.Optional(Type.Unknown()),
    body64: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$' })),
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    tape: Tape,
    digest: Digest,
  },
  { additionalProperties: false },
);

export const HistoryTrailer = Type.Object(
  { end: Type.Literal(true), entries: Type.Integer({ minimum: 0 }), digest: Digest },
  { additionalProperties: false },
);

export type HistoryHeaderLine = Static<typeof HistoryHeader>;

/** A history as the replay takes it: the creation, who it was, and the requests after. */
export interface HistoryFile {
  readonly header: Omit<HistoryHeaderLine, 'digest'>;
  readonly entries: readonly HistoryEntry[];
  /** What each line says the state was after it: the creation's first, then one per entry. */
  readonly digests: readonly string[] | null;
}

const isJson = (contentType: string | null) => /^application\/([\w.+-]*\+)?json\b/i.test(contentType ?? '');

export function headerLine(h: Omit<HistoryHeaderLine, 'digest'>, digest: string): string {
  return `${JSON.stringify({ ...h, digest })}\n`;
}

export function entryLine(seq: number, e: HistoryEntry, digest: string): string {
  let body: { body?: unknown; body64?: string } = {};
  if (e.body) {
    const text = isJson(e.contentType) ? Buffer.from(e.body).toString('utf8') : null;
    let parsed: unknown;
    try {
      parsed = text === null ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    // Kept as JSON only when that gives the same bytes back (journal replay sends them as sent).
    body =
      parsed !== undefined && JSON.stringify(parsed) === text
        ? { body: parsed }
        : { body64: Buffer.from(e.body).toString('base64') };
  }
  return `${JSON.stringify({
    seq,
    method: e.method,
    path: e.path,
    contentType: e.contentType,
    ...body,
    status: e.status,
    tape: e.tape,
    digest,
  })}\n`;
}

export function trailerLine(entries: number, digest: string): string {
  return `${JSON.stringify({ end: true, entries, digest })}\n`;
}

/** Why a history file cannot be read: its 1-based line and what is wrong there. */
export class HistoryFileError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

// ajv, as fastify validates request bodies, but without its coercion: a file says exactly what it says.
const ajv = new Ajv({ strict: false, coerceTypes: false, allErrors: false });
const checker = <T extends TSchema>(schema: T) => {
  const validate = ajv.compile(schema) as ValidateFunction<Static<T>>;
  return {
    check: (v: unknown): v is Static<T> => validate(v),
    error: () => {
      const e = validate.errors?.[0];
      return e ? `${e.instancePath || '/'} ${e.message ?? 'is wrong'}` : 'does not match the format';
    },
  };
};
const headerCheck = checker(HistoryHeader);
const lineCheck = checker(HistoryLine);
const trailerCheck = checker(HistoryTrailer);

/** Reads a history file, checking every line against the format; throws HistoryFileError. */
export function parseHistory(bytes: Uint8Array, maxEntries: number): HistoryFile {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parse = (i: number): unknown => {
    try {
      return JSON.parse(lines[i]!);
    } catch (e) {
      throw new HistoryFileError(i + 1, `not JSON (${(e as Error).message})`);
    }
  };
  if (lines.length === 0) throw new HistoryFileError(1, 'the file is empty');
  const header = parse(0);
  if (!headerCheck.check(header))
    throw new HistoryFileError(1, `not an lparsim history header: ${headerCheck.error()}`);
  if (lines.length < 2) throw new HistoryFileError(2, 'the file ends before its trailer ({"end":true,…})');
  if (lines.length - 2 > maxEntries)
    throw new HistoryFileError(maxEntries + 2, `more than ${maxEntries} entries`);
  const entries: HistoryEntry[] = [];
  const digests: string[] = [header.digest];
  for (let i = 1; i < lines.length - 1; i++) {
    const line = parse(i);
    if (!lineCheck.check(line))
      throw new HistoryFileError(i + 1, `not a history entry: ${lineCheck.error()}`);
    if (line.seq !== i) throw new HistoryFileError(i + 1, `seq is ${line.seq}, expected ${i}`);
    if (line.body !== undefined && line.body64 !== undefined)
      throw new HistoryFileError(i + 1, 'both body and body64');
    const body =
      line.body64 !== undefined
        ? new Uint8Array(Buffer.from(line.body64, 'base64'))
        : line.body !== undefined
          ? new TextEncoder().encode(JSON.stringify(line.body))
          : null;
    entries.push({
      method: line.method,
      path: line.path,
      contentType: line.contentType,
      body,
      status: line.status,
      tape: line.tape,
    });
    digests.push(line.digest);
  }
  const last = lines.length - 1;
  const trailer = parse(last);
  if (!trailerCheck.check(trailer))
    throw new HistoryFileError(
      last + 1,
      `the file ends without its trailer ({"end":true,…}): ${trailerCheck.error()}`,
    );
  if (trailer.entries !== entries.length)
    throw new HistoryFileError(
      last + 1,
      `the trailer counts ${trailer.entries} entries, the file has ${entries.length}`,
    );
  if (trailer.digest !== digests.at(-1))
    throw new HistoryFileError(last + 1, "the trailer's digest is not the last entry's");
  const { digest: _digest, ...rest } = header;
  return { header: rest, entries, digests };
}
