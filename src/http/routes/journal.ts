// Portable histories (issue 11, point 2): GET /v1/lpars/{lpar}/journal exports how an LPAR came to be,
// POST /v1/lpars/import rebuilds it anywhere. The file format is journal/history-file.ts; the digests
// come from a replay as recorded in a worker thread (journal/digests.ts), so the export is checked
// before it is handed out and the import before it changes anything.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DigestAnswer, ReplayDigests } from '../../journal/digests.ts';
import {
  entryLine,
  HISTORY_FORMAT,
  HISTORY_MEDIA_TYPE,
  type HistoryFile,
  HistoryFileError,
  headerLine,
  parseHistory,
  trailerLine,
} from '../../journal/history-file.ts';
import { type Divergence, replayHistory } from '../../journal/replay.ts';
import { lparDocument } from '../../lpar/documents.ts';
import { conflict, insufficientStorage, LparError } from '../../lpar/errors.ts';
import { bodyFromInput } from '../create-body.ts';
import { JOURNAL_VERSION } from '../journal.ts';
import { rawBodyParser } from '../raw-body.ts';
import { LparId, Ref } from '../schemas/common.ts';
import { CreateLparBody, LparDoc } from '../schemas/lpars.ts';

/** Entries an imported history may have (its bytes are bounded by LPARSIM_BODY_LIMIT_BYTES). */
const MAX_IMPORT_ENTRIES = 1_000_000;

const problem = {
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
};

const unprocessable = (title: string, detail: string, extra: Record<string, unknown> = {}) =>
  new LparError('unprocessable', title, detail, extra);

function describe(d: Divergence): string {
  const what = `entry ${d.seq} (${d.method} ${d.path})`;
  if (d.recordedStatus !== d.replayedStatus)
    return `${what} was answered ${d.recordedStatus} when recorded and ${d.replayedStatus} here${d.problem ? ` (${d.problem})` : ''}`;
  return `${what} read the clock ${d.tapeLeft > 0 ? 'fewer' : 'more'} times here than when recorded`;
}

/** The worker's answer as a problem, or its digests. */
function digestsOf(answer: DigestAnswer, what: string): { digests: string[]; divergence: Divergence | null } {
  if (answer.kind === 'out-of-memory')
    throw insufficientStorage(
      `replaying the history to ${what} needs more than the replay worker's ${answer.heapMb} MiB heap (LPARSIM_REPLAY_WORKER_MB)`,
    );
  if (answer.kind === 'refused')
    throw new LparError(answer.problem, answer.title, `the history's creation request: ${answer.detail}`);
  return answer;
}

interface CheckedImport {
  readonly file: HistoryFile;
  readonly name: string;
  readonly finalDigest: string;
}

/** Everything an import checks before it takes the lock: the file, its version, the name, its replay. */
async function checkImport(
  app: FastifyInstance,
  replays: ReplayDigests,
  req: FastifyRequest,
): Promise<CheckedImport> {
  const body = req.body as unknown;
  if (!(body instanceof Uint8Array))
    throw new LparError(
      'unsupported-media-type',
      'Unsupported media type',
      `send the exported file as ${HISTORY_MEDIA_TYPE}`,
    );
  let file: HistoryFile;
  try {
    file = parseHistory(body, MAX_IMPORT_ENTRIES);
  } catch (e) {
    if (e instanceof HistoryFileError)
      throw unprocessable('Not an lparsim history', e.message, { line: e.line });
    throw e;
  }
  if (file.header.version !== JOURNAL_VERSION)
    throw unprocessable(
      'Incompatible history',
      `the history was written by lparsim ${file.header.version}; this is ${JOURNAL_VERSION}, whose model may differ: replay it on ${file.header.version}`,
      { version: file.header.version },
    );
  const name = (req.query as { name?: string }).name ?? file.header.name;
  const taken = app.registry.byNameOrNull(name);
  if (taken)
    throw conflict(
      'LPAR name taken',
      `an LPAR named ${JSON.stringify(name)} exists (${taken.config.id}); import under another with ?name=`,
    );
  let finalDigest = file.digests!.at(-1)!;
  // A journaled import being replayed at start was checked when it was accepted.
  if (!app.journalReplaying()) {
    const { digests, divergence } = digestsOf(await replays.run(file), 'check it');
    if (divergence)
      throw unprocessable('History diverges', `replaying the history here: ${describe(divergence)}`, {
        entry: divergence.seq,
      });
    const at = digests.findIndex((d, i) => d !== file.digests![i]);
    if (at !== -1)
      throw unprocessable(
        'History diverges',
        at === 0
          ? `the state after the creation request digests to ${digests[0]} here; the file says ${file.digests![0]}`
          : `the state after entry ${at} (${file.entries[at - 1]!.method} ${file.entries[at - 1]!.path}) digests to ${digests[at]} here; the file says ${file.digests![at]}`,
        { entry: at },
      );
    finalDigest = digests.at(-1)!;
  }
  return { file, name, finalDigest };
}

export const journalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /** Imports checked in preValidation, for their handler. */
  const checked = new WeakMap<FastifyRequest, CheckedImport>();
  app.addContentTypeParser([HISTORY_MEDIA_TYPE, 'application/jsonl'], rawBodyParser);

  app.post(
    '/v1/lpars/import',
    {
      // Checked before the lock (journal.ts takes it in preHandler): a replay in the worker takes
      // seconds, and other requests need not wait for it; only the rebuild runs under the lock.
      preValidation: async (req) => {
        checked.set(req, await checkImport(app, app.replays, req));
      },
      schema: {
        tags: ['lpars'],
        summary: 'Rebuild an LPAR from an exported history (GET /v1/lpars/{lpar}/journal)',
        description:
          "The body is the exported file, sent as it is (content-type application/x-ndjson). The history is first replayed in a worker thread and its state digest compared with the file's after every line; then the LPAR is rebuilt here under a new id, as the same partition (the same tree, kernel seed and creation time), named `name` or as it was named. 422 for a file that is not an lparsim history (naming the line), one from another lparsim version, or one whose replay diverges (naming the first entry that does, and how); 409 when the name is taken; the creation's own limits apply (413, 507). The answer carries the final digest in x-lparsim-digest, which equals the file's.",
        querystring: Type.Object(
          { name: Type.Optional(CreateLparBody.properties.name) },
          { additionalProperties: false },
        ),
        consumes: [HISTORY_MEDIA_TYPE],
        body: Type.Unsafe<Buffer>({
          contentMediaType: HISTORY_MEDIA_TYPE,
          description: 'an exported history',
        }),
        response: {
          201: Ref(LparDoc),
          400: problem,
          409: problem,
          413: problem,
          415: problem,
          422: problem,
          507: problem,
        },
      },
    },
    async (req, reply) => {
      const { file, name, finalDigest } = checked.get(req)!;
      const { lpar, divergence } = await replayHistory(app, file, { asRecorded: false, name });
      if (divergence) {
        // Checked by the same replay a moment ago: a second run that differs is lparsim's bug.
        app.registry.delete(lpar.config.id);
        throw new Error(`the checked history diverged when rebuilt: ${describe(divergence)}`);
      }
      req.log.info(
        { lpar: lpar.config.id, from: file.header.lpar, entries: file.entries.length },
        'lpar imported',
      );
      return reply
        .code(201)
        .header('location', `/v1/lpars/${lpar.config.id}`)
        .header('x-lparsim-digest', finalDigest)
        .send(lparDocument(lpar));
    },
  );
};

/** GET …/journal, under the per-LPAR scope (http/lpar-scope.ts). */
export const journalExportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/journal',
    {
      config: { lookOnly: true },
      schema: {
        tags: ['lpars'],
        summary: "The LPAR's history as JSON lines: its creation and every request that changed it",
        description: `How to hand a bug to a colleague: this file rebuilds the same LPAR anywhere with POST /v1/lpars/import. Line 1 is the header (format ${HISTORY_FORMAT}, the lparsim version, the creation request as a create body, the identity the LPAR was born with); then one line per request that changed the LPAR (any method but GET, and GETs that ran a kernel action such as a phandle lookup or a devspec read), in the order the model saw them, with its path under /v1/lpars/{lpar}, body, status and clock readings; then a trailer. Every line carries the SHA-256 digest of the whole model after it, computed by replaying the history in a worker thread before anything is sent (so the export takes about as long as the requests did). A snapshot: requests that finish later are not in it. 409 when the history outgrew LPARSIM_MAX_HISTORY_BYTES.`,
        params: Type.Object({ lpar: LparId }),
        response: {
          200: {
            description: 'The history, one JSON document per line',
            headers: {
              'content-disposition': Type.String({
                description: 'attachment; filename="{lpar}.journal.jsonl"',
              }),
            },
            content: { [HISTORY_MEDIA_TYPE]: { schema: Type.String() } },
          },
          404: problem,
          409: problem,
          507: problem,
        },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const id = lpar.config.id;
      const history = app.registry.history(id);
      if (history.overflowedAt !== null)
        throw conflict(
          'History too long to export',
          `request ${history.overflowedAt} on ${id} took its history past LPARSIM_MAX_HISTORY_BYTES (${app.lparsimConfig.LPARSIM_MAX_HISTORY_BYTES} bytes); it can no longer be exported`,
        );
      const header = {
        format: HISTORY_FORMAT,
        version: JOURNAL_VERSION,
        lpar: id,
        name: lpar.config.name,
        identity: lpar.config.identity,
        create: bodyFromInput(app.registry.creationInput(id)),
      } as HistoryFile['header'];
      const file: HistoryFile = { header, entries: history.entries(), digests: null };
      const { digests, divergence } = digestsOf(await app.replays.run(file), 'digest it');
      // The history does not rebuild the LPAR it was recorded from: lparsim is not deterministic there.
      if (divergence) throw new Error(`the history of ${id} does not replay: ${describe(divergence)}`);
      const lines = [headerLine(header, digests[0]!)];
      file.entries.forEach((e, i) => {
        lines.push(entryLine(i + 1, e, digests[i + 1]!));
      });
      lines.push(trailerLine(file.entries.length, digests.at(-1)!));
      return reply
        .type(HISTORY_MEDIA_TYPE)
        .header('content-disposition', `attachment; filename="${id}.journal.jsonl"`)
        .send(lines.join(''));
    },
  );
};
