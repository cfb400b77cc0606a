// Every response the server sends is what openapi/openapi.json says (issue 12, point 1): real traffic
// reaches every documented operation in each status class it documents (2xx, 4xx, 5xx), and each
// response is checked against the document: its status is listed, its media type is one the status
// lists, and a JSON body validates against the declared schema with no member the schema does not name.
//
// The object a handler produced is what gets validated, not only the bytes: with a closed schema
// fast-json-stringify silently drops members the schema does not name, so the bytes would always look
// right. Reply#send is wrapped to see each payload before serialisation (hooks added to a built app do
// not reach the routes its plugins already declared), and the bytes sent must equal that payload.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { OPENAPI_FILE } from '../../scripts/openapi.ts';
import { testApp } from '../helpers/app.ts';
import { exampleUrl } from '../helpers/examples.ts';
import { overlayBlob } from '../helpers/overlays.ts';

type Json = Record<string, unknown>;
interface MediaType {
  schema?: Json;
  'x-itemSchema'?: Json;
}
interface Operation {
  responses: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}
interface OpenapiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
}

const doc = JSON.parse(await readFile(OPENAPI_FILE, 'utf8')) as OpenapiDoc;

// ---- The document, as a validator ------------------------------------------------------------------

/**
 * A copy of a schema where every object with named members forbids any other (an extensible Problem
 * included: the extension members the server sends are named, so an unnamed one is a finding too).
 */
function closedCopy(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closedCopy);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = k === 'example' || k === 'examples' ? v : closedCopy(v);
  if (out.properties && (out.additionalProperties === undefined || out.additionalProperties === true))
    out.additionalProperties = false;
  return out;
}

const DOC_ID = 'openapi.json';
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
ajv.addSchema({ $id: DOC_ID, components: closedCopy(doc.components), paths: closedCopy(doc.paths) });

const pointer = (...parts: string[]) =>
  parts.map((p) => `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

const validators = new Map<string, ValidateFunction>();
function validatorAt(ref: string): ValidateFunction {
  let v = validators.get(ref);
  if (!v) {
    v = ajv.compile({ $ref: `${DOC_ID}#${ref}` });
    validators.set(ref, v);
  }
  return v;
}

// ---- Capturing what handlers send ----------------------------------------------------------------

/** The document's paths as patterns, the most literal first (`/v1/lpars/import` before `{lpar}`). */
const PATHS = Object.keys(doc.paths)
  .map((path) => ({
    path,
    params: (path.match(/\{/g) ?? []).length,
    // `{path}`, last, is an emulated file-system path of any number of segments.
    re: new RegExp(
      `^${path
        .replace(/[.]/g, '\\.')
        .replace(/\/\{path\}$/, '/.+')
        .replace(/\{[A-Za-z]+\}/g, '[^/]+')}$`,
    ),
  }))
  .sort((a, b) => a.params - b.params);

/** The documented path and method a request is for, or null (no route of the document serves it). */
function documentedPath(method: string, url: string): string | null {
  const path = url.split('?')[0]!;
  return PATHS.find((p) => p.re.test(path) && doc.paths[p.path]![method.toLowerCase()])?.path ?? null;
}

interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly mediaType: string;
  /** The last payload the route's reply was sent, before serialisation (undefined: none, hijacked). */
  readonly payload: unknown;
  readonly body: string;
  readonly what: string;
}

const sent = new Map<string, unknown>();
let requestCounter = 0;

/** Wraps Reply#send (of every fastify app of this process) to keep each request's last payload. */
async function wrapReplySend(app: FastifyInstance): Promise<() => void> {
  const kReply = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.Reply');
  assert.ok(kReply, 'fastify keeps its Reply constructor under Symbol(fastify.Reply)');
  let Reply = (app as unknown as Record<symbol, { parent?: unknown; prototype: Json }>)[kReply];
  while (Reply.parent) Reply = Reply.parent as typeof Reply;
  const proto = Reply.prototype as { send: (this: { request: { id: string } }, p: unknown) => unknown };
  const original = proto.send;
  proto.send = function (payload: unknown) {
    if (!(payload instanceof Error)) sent.set(this.request.id, payload);
    return original.call(this, payload);
  };
  return () => {
    proto.send = original;
  };
}

/** The injector fastify's own inject uses (its dependency), resolved from fastify's place. */
const lightMyRequest = createRequire(createRequire(import.meta.url).resolve('fastify'))(
  'light-my-request',
) as (dispatch: FastifyInstance['routing'], options: InjectOptions) => Promise<LightMyRequestResponse>;

function injectIntoRouter(app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse> {
  return lightMyRequest(app.routing, options);
}

class Contract {
  readonly exchanges: Exchange[] = [];

  /**
   * Sends a request through `app` and keeps what was answered, with the payload behind it. With
   * `routing`, past app.inject (which refuses an app that is closing), straight into fastify's router.
   */
  async inject(
    app: FastifyInstance,
    options: InjectOptions,
    { routing = false } = {},
  ): Promise<LightMyRequestResponse> {
    const id = `contract-${++requestCounter}`;
    const request = { ...options, headers: { ...(options.headers ?? {}), 'x-request-id': id } };
    const res = routing ? await injectIntoRouter(app, request) : await app.inject(request);
    const method = String(options.method ?? 'GET').toUpperCase();
    const path = documentedPath(method, String(options.url));
    const payload = sent.get(id);
    sent.delete(id);
    assert.ok(path !== null, `${method} ${options.url} is no operation of the document`);
    if (path !== null)
      this.exchanges.push({
        method,
        path,
        status: res.statusCode,
        mediaType: String(res.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim(),
        payload,
        body: res.body,
        what: `${options.method ?? 'GET'} ${options.url} → ${res.statusCode}`,
      });
    return res;
  }

  /** Every way an exchange breaks the document. */
  violations(): string[] {
    const out: string[] = [];
    for (const x of this.exchanges) {
      const op = doc.paths[x.path]?.[x.method.toLowerCase()];
      if (!op) {
        out.push(`${x.what}: ${x.method} ${x.path} is not in the document`);
        continue;
      }
      const response = op.responses[String(x.status)];
      if (!response) {
        out.push(`${x.what}: status ${x.status} is not documented`);
        continue;
      }
      const content = response.content ?? {};
      if (Object.keys(content).length === 0) {
        if (x.body !== '') out.push(`${x.what}: documented without a body, sent ${x.body.length} bytes`);
        continue;
      }
      const media = content[x.mediaType];
      if (!media) {
        out.push(`${x.what}: sent ${x.mediaType}, documented ${Object.keys(content).join(', ')}`);
        continue;
      }
      const at = pointer(
        'paths',
        x.path,
        x.method.toLowerCase(),
        'responses',
        String(x.status),
        'content',
        x.mediaType,
      );
      if (x.mediaType === 'text/event-stream') out.push(...this.events(x, `${at}/x-itemSchema`));
      else if (/[/+]json$/.test(x.mediaType)) out.push(...this.json(x, `${at}/schema`));
    }
    return out;
  }

  private json(x: Exchange, ref: string): string[] {
    // A route may send text it wrote itself (the node document): then that text is the payload.
    const payload = typeof x.payload === 'string' ? JSON.parse(x.payload) : x.payload;
    if (payload === undefined) return [`${x.what}: no payload was seen for a JSON response`];
    const validate = validatorAt(ref);
    if (!validate(payload)) return [`${x.what}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`];
    // What the handler produced is what went out: nothing dropped, nothing changed by serialisation.
    try {
      assert.deepStrictEqual(JSON.parse(x.body), JSON.parse(JSON.stringify(payload)));
    } catch {
      return [`${x.what}: the bytes sent differ from the payload the handler produced`];
    }
    return [];
  }

  private events(x: Exchange, ref: string): string[] {
    const validate = validatorAt(ref);
    const out: string[] = [];
    for (const block of x.body.split('\n\n')) {
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      const event = JSON.parse(data.slice('data: '.length));
      if (!validate(event))
        out.push(`${x.what}: event ${event.type}: ${ajv.errorsText(validate.errors, { dataVar: 'event' })}`);
    }
    return out;
  }

  /** Each documented operation and status class (2xx, 4xx, 5xx) no exchange reached. */
  unreached(): string[] {
    const reached = new Set(this.exchanges.map((x) => `${x.method} ${x.path} ${String(x.status)[0]}xx`));
    const out: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const cls of new Set(Object.keys(op.responses).map((s) => `${s[0]}xx`))) {
          const key = `${method.toUpperCase()} ${path} ${cls}`;
          if (!reached.has(key)) out.push(key);
        }
    return out;
  }
}

// ---- Traffic -------------------------------------------------------------------------------------

const json = (method: InjectOptions['method'], url: string, payload?: unknown): InjectOptions =>
  payload === undefined ? { method, url } : { method, url, payload: payload as Json };
const bytes = (url: string, body: Buffer | string, contentType: string): InjectOptions => ({
  method: 'POST',
  url,
  payload: typeof body === 'string' ? Buffer.from(body, 'latin1') : body,
  headers: { 'content-type': contentType },
});

interface DocumentedOperation extends Operation {
  parameters?: Array<{ name: string; in: string; example?: unknown }>;
  requestBody?: { content: Record<string, { example?: unknown }> };
}

/** Every operation of the document: path, method (upper case), operation. */
function operations(): Array<[string, string, DocumentedOperation]> {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]): [string, string, DocumentedOperation] => [
      path,
      method.toUpperCase(),
      op,
    ]),
  );
}

/**
 * An operation's documented example as a request; a binary body, which has no example (a DTB, a
 * history), from `binary` by operationId, else a few bytes.
 */
function exampleRequest(
  path: string,
  method: string,
  op: DocumentedOperation & { operationId?: string },
  binary: Readonly<Record<string, Buffer>> = {},
): InjectOptions {
  const url = exampleUrl(path, op.parameters);
  const [contentType, media] = Object.entries(op.requestBody?.content ?? {})[0] ?? [];
  if (!contentType) return { method: method as 'GET', url };
  const example = media?.example;
  const payload =
    example === undefined
      ? (binary[op.operationId ?? ''] ?? 'x')
      : typeof example === 'string'
        ? example
        : JSON.stringify(example);
  return { method: method as 'GET', url, payload, headers: { 'content-type': contentType } };
}

describe('every response is what openapi/openapi.json documents (issue 12, point 1)', () => {
  const contract = new Contract();
  const apps: FastifyInstance[] = [];
  let unwrap = () => {};
  let dataDir = '';

  async function app(env: Record<string, string> = {}): Promise<FastifyInstance> {
    const built = (await testApp(env)).app;
    apps.push(built);
    return built;
  }

  before(async () => {
    const main = await app();
    unwrap = await wrapReplySend(main);
    const send = (o: InjectOptions) => contract.inject(main, o);
    const ok = async (o: InjectOptions, status: number) => {
      const res = await send(o);
      assert.equal(res.statusCode, status, `${o.method ?? 'GET'} ${o.url}: ${res.body.slice(0, 300)}`);
      return res;
    };

    // Probes and the catalogue.
    await ok({ url: '/healthz' }, 200);
    await ok({ url: '/readyz' }, 200);
    await ok({ url: '/metrics' }, 200);
    await ok({ url: '/v1/profiles' }, 200);
    const systems = (await ok({ url: '/v1/systems' }, 200)).json().items as Array<{
      name: string;
      processor: string;
    }>;
    await ok({ url: '/v1/systems/p9-alpha' }, 200);
    await ok({ url: '/v1/systems/nowhere' }, 404);
    const system = { name: 'p9-contract', processor: 'POWER9', serial: '7C0FFEE' };
    await ok(json('POST', '/v1/systems', system), 201);
    await ok(json('POST', '/v1/systems', system), 409);
    await ok(json('POST', '/v1/systems', { ...system, extra: 1 }), 400);

    // LPARs of every kernel, both trees and schemes, a what-if kernel, and the options.
    const lpars: Record<string, string> = {};
    for (const kernel of ['4.16', '4.18', '5.0', '5.8', '5.16'])
      lpars[kernel] = (await ok(json('POST', '/v1/lpars', { kernel, name: `k${kernel}` }), 201)).json().id;
    await ok(
      json('POST', '/v1/lpars', {
        kernel: '5.8',
        profile: 'power10',
        phandleScheme: 'dtc',
        seed: 7,
        system: 'p10-alpha',
        switches: { phandleCache: 'pow2-refs', refcount: 'plain' },
        options: { kasan: true, refcountFull: true, dynamicDebug: true, pfoDevices: 'fixed', cores: 2 },
      }),
      201,
    );
    const panicky = (
      await ok(
        json('POST', '/v1/lpars', { kernel: '4.18', name: 'panicky', options: { panicOnOops: true } }),
        201,
      )
    ).json().id;
    await ok(json('POST', '/v1/lpars', { kernel: '4.19' }), 400);
    await ok(json('POST', '/v1/lpars', { kernel: '4.18', system: 'nowhere' }), 404);
    await ok(json('POST', '/v1/lpars', { kernel: '4.18', name: 'k4.18' }), 409);
    await ok(json('POST', '/v1/lpars', { kernel: '4.18', options: { cores: 100_000 } }), 413);
    await ok(
      json('POST', '/v1/lpars', { kernel: '4.18', dtb: Buffer.from('not a tree').toString('base64') }),
      422,
    );
    await ok(json('GET', '/v1/lpars'), 200);
    await ok(json('DELETE', '/v1/lpars'), 400);

    // PUT: created, the same again, a different body, a name mismatch.
    await ok(json('PUT', '/v1/lpars/compose', { kernel: '5.16' }), 201);
    await ok(json('PUT', '/v1/lpars/compose', { kernel: '5.16' }), 200);
    await ok(json('PUT', '/v1/lpars/compose', { kernel: '5.0' }), 409);
    await ok(json('PUT', '/v1/lpars/compose', { kernel: '5.16', name: 'other' }), 400);

    const old = lpars['4.18']!;
    const x = `/v1/lpars/${old}`;
    await ok({ url: x }, 200);
    await ok({ url: '/v1/lpars/nope' }, 404);
    await ok({ url: `/v1/lpars/${'x'.repeat(65)}` }, 400);

    // Uploads: a tree exported a line earlier, and blobs that are refused.
    const dtb = (await ok({ url: `${x}/tree.dtb` }, 200)).rawPayload;
    await ok(
      bytes('/v1/lpars/from-dtb?kernel=5.0&name=uploaded&kasan=true', dtb, 'application/octet-stream'),
      201,
    );
    await ok(bytes('/v1/lpars/from-dtb', dtb, 'application/octet-stream'), 400);
    await ok(bytes('/v1/lpars/from-dtb?kernel=5.0&system=nowhere', dtb, 'application/octet-stream'), 404);
    await ok(bytes('/v1/lpars/from-dtb?kernel=5.0&name=uploaded', dtb, 'application/octet-stream'), 409);
    await ok(bytes('/v1/lpars/from-dtb?kernel=5.0', Buffer.from('garbage'), 'application/octet-stream'), 422);

    // Nodes, lookups and references.
    await ok({ url: `${x}/nodes?path=/cpus` }, 200);
    await ok({ url: `${x}/nodes?path=/nowhere` }, 404);
    await ok({ url: `${x}/nodes?limit=3` }, 200);
    const vty = (await ok({ url: `${x}/nodes?path=/vdevice/vty@30000000` }, 200)).json();
    await ok({ url: `${x}/nodes/${vty.address}` }, 200);
    await ok({ url: `${x}/nodes/c00000000fffffff` }, 404);
    await ok({ url: `${x}/phandles/${vty.phandle}` }, 200);
    await ok({ url: `${x}/phandles/0x7fffffff` }, 200);
    await ok({ url: `${x}/phandles/4294967296` }, 400);
    const ref = (
      await ok(json('POST', `${x}/refs`, { node: { path: '/cpus' }, holder: 'contract' }), 201)
    ).json();
    await ok(json('POST', `${x}/refs`, { node: { phandle: vty.phandle }, holder: 'contract' }), 201);
    await ok(json('POST', `${x}/refs`, { node: { address: vty.address }, holder: 'contract' }), 201);
    await ok(json('POST', `${x}/refs`, { node: { path: '/nowhere' }, holder: 'contract' }), 404);
    await ok({ url: `${x}/refs` }, 200);
    await ok({ url: '/v1/lpars/nope/refs' }, 404);
    await ok(json('DELETE', `${x}/refs/${ref.id}`), 200);
    await ok(json('DELETE', `${x}/refs/${ref.id}`), 404);
    await ok(json('POST', `${x}/refs/put`, { node: { path: '/cpus' }, holder: 'nobody' }), 200);
    await ok(json('POST', `${x}/refs/put`, { node: { path: '/cpus' } }), 400);

    // ofdt writes and their JSON forms.
    const ofdt = (cmd: string) => bytes(`${x}/proc/ppc64/ofdt`, cmd, 'application/octet-stream');
    await ok(
      ofdt('add_node /vdevice/contract@1 compatible 9 contract\u0000 reg 4 \u0000\u0000\u0000\u0001'),
      200,
    );
    await ok(ofdt('frobnicate'), 400);
    await ok(json('POST', `${x}/proc/ppc64/ofdt`, { command: 'add_node' }), 415);
    await ok(
      json('POST', `${x}/nodes`, {
        path: '/vdevice/contract@2',
        properties: [
          { name: 'compatible', string: 'contract' },
          { name: 'names', strings: ['a', 'b'] },
          { name: 'cells', u32: [1, 2, 3, 4] },
          { name: 'odd', hex: '010203' },
        ],
      }),
      201,
    );
    await ok(json('POST', `${x}/nodes`, { path: 'relative', properties: [] }), 400);
    const added = (await ok({ url: `${x}/nodes?path=/vdevice/contract@2` }, 200)).json();
    await ok({ url: `${x}/nodes/${added.address}` }, 200);
    // Documents give a phandle as 0x-hex; requests take that or the number.
    const ph = vty.phandle as string;
    await ok(json('POST', `${x}/properties`, { phandle: ph, property: { name: 'extra', u32: [7] } }), 200);
    await ok(json('POST', `${x}/properties`, { phandle: ph, property: { name: 'extra' } }), 400);
    const n = Number.parseInt(ph, 16);
    await ok(json('PUT', `${x}/properties`, { phandle: n, property: { name: 'extra', u32: [8] } }), 200);
    await ok(json('PUT', `${x}/properties`, { phandle: ph }), 400);
    await ok(json('DELETE', `${x}/properties?phandle=${ph}&name=extra`), 200);
    await ok(json('DELETE', `${x}/properties?phandle=${ph}`), 400);
    await ok(json('DELETE', `${x}/nodes?path=/vdevice/contract@2`), 200);
    await ok(json('DELETE', `${x}/nodes`), 400);
    // The removed node, detached and maybe freed, read by address: its last contents.
    await ok({ url: `${x}/nodes/${added.address}` }, 200);

    // Migrations: a real one on every kernel (leaks, renames, stale entries), a dry run, an explicit
    // work list, an injected firmware error, and refusals.
    for (const id of Object.values(lpars)) {
      const lpar = (await ok({ url: `/v1/lpars/${id}` }, 200)).json();
      const to = systems.find((s) => s.name !== lpar.system && s.name.startsWith('p9'))!.name;
      await ok(json('POST', `/v1/lpars/${id}/migrations`, { destination: to }), 201);
      const back = systems.find((s) => s.name !== to && s.name.startsWith('p9'))!.name;
      await ok(json('POST', `/v1/lpars/${id}/migrations`, { destination: back }), 201);
    }
    const here = (await ok({ url: x }, 200)).json().system as string;
    const there = systems.find((s) => s.name !== here && s.name.startsWith('p9'))!.name;
    await ok(json('POST', `${x}/migrations`, { destination: there, dryRun: true }), 201);
    await ok(
      json('POST', `${x}/migrations`, {
        destination: there,
        updates: [
          { action: 'update', phandle: vty.phandle, properties: [{ name: 'ibm,contract', u32: [1] }] },
          { action: 'delete', phandle: 0x7ffffff0 },
        ],
      }),
      201,
    );
    const failing = lpars['5.0']!;
    const at = (await ok({ url: `/v1/lpars/${failing}` }, 200)).json().system as string;
    await ok(
      json('POST', `/v1/lpars/${failing}/migrations`, {
        destination: systems.find((s) => s.name !== at && s.name.startsWith('p9'))!.name,
        faults: [{ call: 'ibm,update-nodes', onCall: 1, status: -9001 }],
      }),
      201,
    );
    const current = (await ok({ url: x }, 200)).json().system as string;
    await ok(json('POST', `${x}/migrations`, { destination: current }), 409);
    await ok(json('POST', `${x}/migrations`, { destination: 'nowhere' }), 404);
    await ok({ url: `${x}/migrations` }, 200);
    await ok({ url: `${x}/migrations/m1` }, 200);
    await ok({ url: `${x}/migrations/m999` }, 404);
    await ok({ url: '/v1/lpars/nope/migrations' }, 404);

    // PRRN on every kernel (handled, dropped or ignored), with values and a phandle naming nothing, and
    // a path firmware cannot name.
    for (const id of Object.values(lpars))
      await ok(
        json('POST', `/v1/lpars/${id}/prrn`, {
          nodes: [
            { path: '/cpus', properties: [{ name: 'ibm,contract', u32: [2] }] },
            { phandle: '0x7ffffff0' },
          ],
        }),
        200,
      );
    await ok(json('POST', `${x}/prrn`, { nodes: [{ path: '/no-such-node' }] }), 422);

    // Overlays on every kernel: a target-path overlay applied twice (the second builds on the first's
    // node), listed, looked at, and removed topmost first after the first is refused (EBUSY); then the
    // kernel's EINVAL for labels the built-in tree (no __symbols__) cannot resolve, a JSON body and
    // ids no overlay has (ENODEV from the kernel for a removal).
    const overlay = (l: string, name: string) =>
      bytes(`${l}/overlays`, overlayBlob(name), 'application/octet-stream');
    for (const id of Object.values(lpars)) {
      const l = `/v1/lpars/${id}`;
      const first = (await ok(overlay(l, 'by-path'), 201)).json().id as number;
      const second = (await ok(overlay(l, 'by-path'), 201)).json().id as number;
      await ok({ url: `${l}/overlays` }, 200);
      await ok({ url: `${l}/overlays/${first}` }, 200);
      await ok(json('DELETE', `${l}/overlays/${first}`), 409);
      await ok(json('DELETE', `${l}/overlays/${second}`), 200);
      await ok(json('DELETE', `${l}/overlays/${first}`), 200);
    }
    await ok(overlay(x, 'add-device'), 422);
    await ok(json('POST', `${x}/overlays`, { overlay: 'json' }), 415);
    await ok({ url: `${x}/overlays/9` }, 404);
    await ok(json('DELETE', `${x}/overlays/9`), 404);
    await ok({ url: '/v1/lpars/nope/overlays' }, 404);

    // DLPAR on every kernel: a boot core removed by count (these trees offer no spare connectors),
    // the file read, and the kernel's refusals (EINVAL, ENODEV), an empty write and a JSON body.
    const dlpar = (l: string, command: string) => bytes(`${l}/sys/kernel/dlpar`, command, 'text/plain');
    for (const id of Object.values(lpars)) await ok(dlpar(`/v1/lpars/${id}`, 'cpu remove count 1'), 200);
    await ok({ url: `${x}/sys/kernel/dlpar` }, 200);
    await ok(dlpar(x, 'cpu add index 0x10000099'), 422);
    await ok(dlpar(x, 'cpu remove index 0x10000099'), 404);
    await ok(dlpar(x, ''), 400);
    await ok(json('POST', `${x}/sys/kernel/dlpar`, { command: 'cpu add count 1' }), 415);

    // Virtual slots on every kernel (K-SLOT): the l-lan's device unregistered and registered again
    // under the drc name /vdevice lists (its location code), then the kernel's refusals.
    const slot = (l: string, file: string, name: string) =>
      bytes(`${l}/sys/bus/pci/slots/control/${file}`, name, 'text/plain');
    for (const id of Object.values(lpars)) {
      const l = `/v1/lpars/${id}`;
      const lan = (await ok({ url: `${l}/nodes?path=/vdevice/l-lan@30000002` }, 200)).json() as {
        properties: Array<{ name: string; value?: unknown }>;
      };
      const name = String(lan.properties.find((p) => p.name === 'ibm,loc-code')?.value);
      await ok(slot(l, 'remove_slot', name), 200);
      await ok(slot(l, 'remove_slot', name), 422);
      await ok(slot(l, 'add_slot', name), 200);
    }
    await ok(slot(x, 'add_slot', 'U0000.000.0000000-V1-C99'), 404);
    await ok(slot(x, 'remove_slot', ''), 400);
    await ok(json('POST', `${x}/sys/bus/pci/slots/control/add_slot`, { name: 'x' }), 415);

    // The tree's health after the migrations, on every kernel.
    for (const id of [...Object.values(lpars), old]) {
      const l = `/v1/lpars/${id}`;
      await ok({ url: `${l}/leaks` }, 200);
      await ok({ url: `${l}/refcounts?limit=50` }, 200);
      await ok({ url: `${l}/nodes?state=detached` }, 200);
      await ok({ url: `${l}/phandle-cache` }, 200);
      await ok({ url: `${l}/vio` }, 200);
      await ok({ url: `${l}/drivers` }, 200);
      await ok({ url: `${l}/invariants` }, 200);
      await ok({ url: `${l}/dmesg?level=warn` }, 200);
    }
    const leaked = (await ok({ url: `${x}/leaks` }, 200)).json().items as Array<{ address: string }>;
    for (const n of leaked.slice(0, 5)) await ok({ url: `${x}/nodes/${n.address}` }, 200);
    await ok({ url: `${x}/leaks?cursor=bad` }, 400);
    await ok({ url: `${x}/refcounts?cursor=bad` }, 400);
    await ok({ url: `${x}/refcounts?state=attached&limit=2` }, 200);
    await ok({ url: '/v1/lpars/nope/phandle-cache' }, 404);
    await ok(json('POST', `${x}/phandle-cache/rebuild`), 200);
    await ok(json('POST', `/v1/lpars/${lpars['5.8']}/phandle-cache/rebuild`), 409);
    await ok({ url: '/v1/lpars/nope/vio' }, 404);
    await ok({ url: '/v1/lpars/nope/drivers' }, 404);
    await ok({ url: '/v1/lpars/nope/invariants' }, 404);
    await ok({ url: `${x}/dmesg` }, 200);
    await ok({ url: `${x}/dmesg?format=text` }, 200);
    await ok({ url: `${x}/dmesg?level=loud` }, 400);

    // The emulated file systems: listings, files, stat, links, by URL and by ?path=.
    for (const [root, dir, file] of [
      ['sys', 'firmware/devicetree/base/cpus', 'firmware/devicetree/base/cpus/#size-cells'],
      ['proc/device-tree', 'cpus', 'cpus/#address-cells'],
    ] as const) {
      await ok({ url: `${x}/${root}` }, 200);
      await ok({ url: `${x}/${root}?path=${encodeURIComponent(dir)}&limit=2` }, 200);
      await ok({ url: `${x}/${root}?path=${encodeURIComponent(file)}` }, 200);
      await ok({ url: `${x}/${root}?path=nowhere` }, 404);
      await ok({ url: `${x}/${root}?cursor=bad` }, 400);
      await ok({ url: `${x}/${root}/${dir}` }, 200);
      await ok({ url: `${x}/${root}/${file.replaceAll('#', '%23')}` }, 200);
      await ok({ url: `${x}/${root}/${file.replaceAll('#', '%23')}?stat=true` }, 200);
      await ok({ url: `${x}/${root}/nowhere` }, 404);
      await ok({ url: `${x}/${root}/${dir}?cursor=bad` }, 400);
    }
    const vio = (await ok({ url: `${x}/sys/devices/vio?limit=100` }, 200)).json().items as Array<{
      name: string;
    }>;
    const dev = vio.find((e) => /^[0-9a-f]+$/.test(e.name))?.name ?? vio[0]!.name;
    await ok({ url: `${x}/sys/devices/vio/${dev}` }, 200);
    await ok({ url: `${x}/sys/devices/vio/${dev}/of_node?stat=true` }, 200);
    await ok({ url: `${x}/sys/devices/vio/${dev}/devspec` }, 200);

    // Exports.
    await ok({ url: `${x}/sysfs.tar` }, 200);
    await ok({ url: `${x}/sysfs.tar`, headers: { 'accept-encoding': 'gzip' } }, 200);
    await ok({ url: `${x}/sysfs.tar.gz` }, 200);
    await ok({ url: `${x}/tree.dts` }, 200);
    for (const e of ['sysfs.tar', 'sysfs.tar.gz', 'tree.dtb', 'tree.dts']) {
      await ok({ url: `/v1/lpars/nope/${e}` }, 404);
      await ok({ url: `/v1/lpars/${'x'.repeat(65)}/${e}` }, 400);
    }

    // The journal, and an import of it.
    const history = (await ok({ url: `${x}/journal` }, 200)).rawPayload;
    await ok({ url: '/v1/lpars/nope/journal' }, 404);
    await ok(bytes('/v1/lpars/import?name=imported', history, 'application/x-ndjson'), 201);
    await ok(bytes('/v1/lpars/import?name=imported2', Buffer.from('{}\n'), 'application/x-ndjson'), 422);

    // Event streams: the backlog of a rich history, then refusals.
    await ok({ url: `${x}/events?follow=false` }, 200);
    await ok({ url: '/v1/lpars/nope/events?follow=false' }, 404);
    await ok({ url: `${x}/events?since=-1&follow=false` }, 400);
    await ok({ url: '/v1/events?follow=false' }, 200);
    await ok({ url: '/v1/events?since=-1' }, 400);

    await ok({ url: `/v1/lpars/${panicky}` }, 200);

    // Reboot and delete.
    await ok(json('POST', `/v1/lpars/${lpars['5.16']}/reboot`), 200);
    await ok(json('POST', '/v1/lpars/nope/reboot'), 404);
    await ok(json('DELETE', `/v1/lpars/${lpars['4.16']}`), 204);
    await ok(json('DELETE', `/v1/lpars/${lpars['4.16']}`), 404);
    await ok(json('DELETE', `/v1/lpars/${'x'.repeat(65)}`), 400);

    // 5xx: a memory budget with no room left refuses everything that grows (507), and a replay worker
    // too small for a history refuses its export (507).
    const tight = await app({ LPARSIM_REPLAY_WORKER_MB: '64' });
    const tsend = (o: InjectOptions) => contract.inject(tight, o);
    const tok = async (o: InjectOptions, status: number) => {
      const res = await tsend(o);
      assert.equal(res.statusCode, status, `${o.method ?? 'GET'} ${o.url}: ${res.body.slice(0, 300)}`);
      return res;
    };
    const t = (await tok(json('POST', '/v1/lpars', { kernel: '4.18', name: 'tight' }), 201)).json().id;
    const tHistory = (await tok({ url: `/v1/lpars/${t}/journal` }, 200)).rawPayload;
    const big = (
      await tok(json('POST', '/v1/lpars', { kernel: '4.18', options: { cores: 6000 } }), 201)
    ).json();
    await tok({ url: `/v1/lpars/${big.id}/journal` }, 507);
    (tight.registry.limits as { memoryBudgetBytes?: number }).memoryBudgetBytes = 1;
    const tl = `/v1/lpars/${t}`;
    await tok(json('POST', '/v1/lpars', { kernel: '4.18' }), 507);
    await tok(json('PUT', '/v1/lpars/tight2', { kernel: '4.18' }), 507);
    await tok(bytes('/v1/lpars/from-dtb?kernel=4.18', dtb, 'application/octet-stream'), 507);
    await tok(bytes('/v1/lpars/import?name=tight3', tHistory, 'application/x-ndjson'), 507);
    await tok(json('POST', `${tl}/reboot`), 507);
    await tok(bytes(`${tl}/proc/ppc64/ofdt`, 'add_node /vdevice/x@1', 'application/octet-stream'), 507);
    await tok(json('POST', `${tl}/nodes`, { path: '/vdevice/x@2', properties: [] }), 507);
    await tok(json('DELETE', `${tl}/nodes?path=/vdevice/vty@30000000`), 507);
    const tvty = (await tok({ url: `${tl}/nodes?path=/vdevice/vty@30000000` }, 200)).json().phandle;
    const tph = tvty as string;
    await tok(json('POST', `${tl}/properties`, { phandle: tph, property: { name: 'x', u32: [1] } }), 507);
    await tok(json('PUT', `${tl}/properties`, { phandle: tph, property: { name: 'x', u32: [1] } }), 507);
    await tok(json('DELETE', `${tl}/properties?phandle=${tph}&name=compatible`), 507);
    await tok(json('POST', `${tl}/migrations`, { destination: 'p9-beta' }), 507);
    await tok(bytes(`${tl}/overlays`, overlayBlob('by-path'), 'application/octet-stream'), 507);
    await tok(bytes(`${tl}/sys/kernel/dlpar`, 'memory add count 1', 'text/plain'), 507);
    await tok({ url: '/readyz' }, 200);
    await tok(json('DELETE', '/v1/lpars?confirm=true'), 200);

    // 5xx: a durable journal that can no longer be written makes the instance unready (503).
    dataDir = await mkdtemp(join(tmpdir(), 'lparsim-contract-'));
    const durable = await app({ LPARSIM_DATA_DIR: dataDir });
    // The LPAR the documented examples name, made while the journal still takes it.
    const web = await contract.inject(durable, json('PUT', '/v1/lpars/web', { kernel: '4.18' }));
    assert.equal(web.statusCode, 201, web.body);
    const binary = {
      createLparFromDtb: (await contract.inject(durable, { url: '/v1/lpars/web/tree.dtb' })).rawPayload,
      importJournal: (await contract.inject(durable, { url: '/v1/lpars/web/journal' })).rawPayload,
      applyOverlay: overlayBlob('by-path'),
    };
    durable.journal!.close();
    // The write that finds the journal broken answers 503, and from then on every operation that may
    // change a model does (each whose 503 names the journal, sent with its documented example).
    const broke = await contract.inject(durable, json('POST', '/v1/lpars', { kernel: '4.18' }));
    assert.equal(broke.statusCode, 503, broke.body);
    for (const [path, method, op] of operations())
      if (/journal/.test(op.responses['503']?.description ?? '') && path !== '/readyz') {
        const res = await contract.inject(durable, exampleRequest(path, method, op, binary));
        assert.equal(res.statusCode, 503, `${method} ${path}: ${res.body.slice(0, 300)}`);
      }
    const unready = await contract.inject(durable, { url: '/readyz' });
    assert.equal(unready.statusCode, 503, unready.body);

    // 4xx: with LPARSIM_TOKEN, every operation but the probes refuses a request without it (401).
    const guarded = await app({ LPARSIM_TOKEN: 'contract-token-0123456789' });
    for (const [path, method, op] of operations())
      if (op.responses['401']) {
        const res = await contract.inject(guarded, exampleRequest(path, method, op));
        assert.equal(res.statusCode, 401, `${method} ${path}: ${res.body.slice(0, 300)}`);
      }

    // 5xx: once close() began, every operation answers 503 (http/closing.ts), before it looks for
    // its LPAR or reads the journal.
    const draining = await app();
    apps.pop();
    await draining.close();
    for (const [path, method, op] of operations())
      if (op.responses['503']) {
        const res = await contract.inject(draining, exampleRequest(path, method, op, binary), {
          routing: true,
        });
        assert.equal(res.statusCode, 503, `${method} ${path}: ${res.body.slice(0, 300)}`);
        assert.equal(res.headers.connection, 'close');
      }
  });

  after(async () => {
    unwrap();
    for (const a of apps) await a.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('reaches every documented operation in every status class it documents', () => {
    assert.deepEqual(contract.unreached(), [], 'operations and status classes no request reached');
  });

  it('answers each with a documented status and media type, and a body its schema allows', () => {
    const violations = contract.violations();
    assert.deepEqual(violations, [], violations.join('\n'));
  });

  it('documents every object of every response closed (a Problem extensible, as RFC 9457 allows)', () => {
    const open: string[] = [];
    const walk = (schema: unknown, where: string) => {
      if (typeof schema !== 'object' || schema === null) return;
      if (Array.isArray(schema)) {
        schema.forEach((s, i) => {
          walk(s, `${where}/${i}`);
        });
        return;
      }
      const s = schema as Json;
      if (
        s.type === 'object' &&
        s.additionalProperties !== false &&
        typeof s.additionalProperties !== 'object'
      )
        if (where !== '#/components/schemas/Problem') open.push(where);
      for (const [k, v] of Object.entries(s))
        if (k !== 'example' && k !== 'examples') walk(v, `${where}/${k}`);
    };
    for (const [name, schema] of Object.entries(doc.components.schemas))
      walk(schema, `#/components/schemas/${name}`);
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const [status, r] of Object.entries(op.responses))
          for (const [media, m] of Object.entries(r.content ?? {}))
            walk(m.schema, `${method.toUpperCase()} ${path} ${status} ${media}`);
    assert.deepEqual(open, []);
    assert.equal(doc.components.schemas.Problem!.additionalProperties, true);
  });

  it('names each document schema as a component of the document', () => {
    for (const name of [
      'Lpar',
      'Node',
      'NodeSummary',
      'LeaksPage',
      'RefcountsPage',
      'MigrationReport',
      'Migration',
      'PhandleCache',
      'VioList',
      'VioDriverList',
      'Invariants',
      'Problem',
      'Event',
    ])
      assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
  });

  it('fails on what it is meant to catch: an undeclared member, a wrong type, an unreached route', () => {
    const lpar = contract.exchanges.find(
      (x) => x.method === 'GET' && x.path === '/v1/lpars/{lpar}' && x.status === 200,
    )!;
    const probe = new Contract();
    const payload = lpar.payload as Json;
    probe.exchanges.push(
      {
        ...lpar,
        payload: { ...payload, undeclared: 1 },
        body: JSON.stringify(payload),
        what: 'extra member',
      },
      { ...lpar, payload: { ...payload, nodes: 'many' }, what: 'wrong type' },
      {
        ...lpar,
        payload: { ...payload, counts: { ...(payload.counts as Json), surprise: 0 } },
        what: 'extra nested member',
      },
      { ...lpar, status: 418, what: 'undocumented status' },
      { ...lpar, mediaType: 'text/html', what: 'undocumented media type' },
      { ...lpar, body: JSON.stringify({ ...payload, nodes: 0 }), what: 'bytes unlike the payload' },
    );
    const found = probe.violations();
    assert.equal(found.length, 6, found.join('\n'));
    for (const [i, pattern] of [
      /must NOT have additional properties/,
      /nodes must be integer/,
      /counts must NOT have additional properties/,
      /status 418 is not documented/,
      /sent text\/html/,
      /bytes sent differ/,
    ].entries())
      assert.match(found[i]!, pattern);
    assert.ok(probe.unreached().includes('GET /v1/lpars/{lpar}/leaks 2xx'));
  });
});
