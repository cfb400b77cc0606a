// The typed lparsim client. Request and response shapes come from the route schemas (src/http/schemas),
// so a change there is a type error here.

import type { Static } from '@sinclair/typebox';
import type { DlparWriteDoc } from '../http/schemas/dlpar.ts';
import type { LparEventDoc as LparEvent } from '../http/schemas/events.ts';
import type { Health as HealthDoc, Readiness as ReadinessDoc } from '../http/schemas/health.ts';
import type {
  CacheSlot as CacheSlotDoc,
  DmesgPage as DmesgPageDoc,
  Invariants as InvariantsDoc,
  PhandleCacheDoc,
  VioDriverList,
  VioList,
} from '../http/schemas/kernel.ts';
import type {
  Counts as CountsDoc,
  CreateLparBody,
  CreateSystemBody,
  LparDoc,
  ProfilesDoc,
  SystemDoc,
} from '../http/schemas/lpars.ts';
import type {
  MigrationBody,
  MigrationDoc,
  MigrationReport as MigrationReportDoc,
} from '../http/schemas/migrations.ts';
import type {
  AddNodeBody,
  LeakedNode,
  LookupDoc,
  NodeDoc,
  NodeSummary,
  NodeSummaryPage,
  OfdtDoc,
  PropertyBody,
  RefDoc,
} from '../http/schemas/nodes.ts';
import type { OverlayApplied, OverlayDoc, OverlayRemoved } from '../http/schemas/overlays.ts';
import type { PrrnBody, PrrnDoc } from '../http/schemas/prrn.ts';
import type { SlotWriteDoc } from '../http/schemas/slots.ts';
import type { HttpRequest, Transport } from './transport.ts';

export type { EventType, LparEventDoc as LparEvent } from '../http/schemas/events.ts';
export type CreateLpar = Static<typeof CreateLparBody>;
export type Lpar = Static<typeof LparDoc>;
export type Node = Static<typeof NodeDoc>;
export type Lookup = Omit<Static<typeof LookupDoc>, 'node'> & { readonly node: Node | null };
export type Ref = Static<typeof RefDoc>;
export type System = Static<typeof SystemDoc>;
export type CreateSystem = Static<typeof CreateSystemBody>;
export type Migration = Static<typeof MigrationDoc>;
export type MigrationReport = Static<typeof MigrationReportDoc>;
export type MigrationRequest = Static<typeof MigrationBody>;
/** A PRRN event (POST …/prrn) and what the kernel did with it. */
export type PrrnRequest = Static<typeof PrrnBody>;
export type PrrnEvent = Static<typeof PrrnDoc>;
/** A write to /sys/kernel/dlpar the kernel carried out (POST …/sys/kernel/dlpar). */
export type DlparWrite = Static<typeof DlparWriteDoc>;
/** A write to /sys/bus/pci/slots/control/add_slot or remove_slot the kernel carried out. */
export type SlotWrite = Static<typeof SlotWriteDoc>;
/** An applied overlay (GET …/overlays/{id}); the apply's answer adds its report; a removal's answer. */
export type Overlay = Static<typeof OverlayDoc>;
export type AppliedOverlay = Static<typeof OverlayApplied>;
export type RemovedOverlay = Static<typeof OverlayRemoved>;
/** An LPAR's counts; a migration report's `counts` and `countsDelta` too. */
export type Counts = Static<typeof CountsDoc>;
export type PhandleCache = Static<typeof PhandleCacheDoc>;
export type CacheSlot = Static<typeof CacheSlotDoc>;
export type DmesgPage = Static<typeof DmesgPageDoc>;
export type Invariants = Static<typeof InvariantsDoc>;
export type VioDevices = Static<typeof VioList>;
export type VioDrivers = Static<typeof VioDriverList>;
export type Profiles = Static<typeof ProfilesDoc>;
export type Health = Static<typeof HealthDoc>;
export type Readiness = Static<typeof ReadinessDoc>;
export type AddNode = Static<typeof AddNodeBody>;
export type PropertyEdit = Static<typeof PropertyBody>;
export type Ofdt = Static<typeof OfdtDoc>;
/** The query of POST /v1/lpars/from-dtb: the kernel, and the name, system and options of the LPAR. */
export type FromDtbQuery = { readonly kernel: string } & Readonly<
  Record<string, string | boolean | undefined>
>;
export type NodeSummaryDoc = Static<typeof NodeSummary>;
export type ClientNodeRef = { path: string } | { address: string } | { phandle: number | string };

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errno?: string;
  readonly [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(`${status} ${problem.title}: ${problem.detail}`);
    this.status = status;
    this.problem = problem;
  }
}

export interface ViewEntry {
  readonly name: string;
  readonly type: 'dir' | 'file' | 'link';
  readonly size: number;
  readonly mode: string;
  readonly target?: string;
  readonly broken?: boolean;
}

export interface ViewListing extends ViewEntry {
  readonly path: string;
  readonly items?: ViewEntry[];
  /** For a directory: the cursor of the next page of `items`, null on the last. */
  readonly next?: string | null;
}

/** One page of a listing, as the service answers it. */
export interface PageDoc<T> {
  readonly items: T[];
  readonly next: string | null;
}

/** Which page to ask for: `cursor` is the `next` of the page before. */
export interface PageOptions {
  readonly limit?: number;
  readonly cursor?: string;
}

export type NodesPage = Static<typeof NodeSummaryPage>;
/** A leaked node, as GET …/leaks and a migration report's leakedNodes list them. */
export type Leak = Static<typeof LeakedNode>;

/** `?limit=&cursor=` (and any other parameters given), or an empty string. */
function pageQuery(page: PageOptions = {}, extra: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) q.set(k, v);
  if (page.limit !== undefined) q.set('limit', String(page.limit));
  if (page.cursor !== undefined) q.set('cursor', page.cursor);
  const text = q.toString();
  return text ? `?${text}` : '';
}

/**
 * Every item of a paged listing: follows `next` until it is null. A cursor handed back twice would
 * loop forever, so it is an error.
 */
export async function allPages<T, P extends PageDoc<T>>(
  fetchPage: (cursor: string | undefined) => Promise<P>,
): Promise<{ first: P; items: T[] }> {
  const first = await fetchPage(undefined);
  const items = [...first.items];
  const seen = new Set<string>();
  for (let next = first.next; next !== null; ) {
    if (seen.has(next)) throw new Error(`the service handed out the cursor ${next} twice`);
    seen.add(next);
    const page = await fetchPage(next);
    items.push(...page.items);
    next = page.next;
  }
  return { first, items };
}

const json = { 'content-type': 'application/json' };
const IDEMPOTENT_RETRIES = 2;
const RETRY_DELAY_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface EventOptions {
  /** Events after this id (the Last-Event-ID of an earlier stream). */
  readonly since?: number;
  /** Keep the stream open and reconnect after a disconnect (default true). */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  /** Wait before a reconnect, in milliseconds (default 250). */
  readonly reconnectMs?: number;
}

function problemOf(status: number, body: Uint8Array): Problem {
  const text = new TextDecoder().decode(body);
  try {
    return JSON.parse(text) as Problem;
  } catch {
    return { type: 'about:blank', title: 'Error', status, detail: text };
  }
}

/** Server-Sent Events as they arrive: `data:` lines of whole events, split across chunks or not. */
class SseParser {
  private pending = '';
  private readonly decoder = new TextDecoder();
  push(chunk: Uint8Array): LparEvent[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const out: LparEvent[] = [];
    let end = this.pending.indexOf('\n\n');
    while (end >= 0) {
      const block = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) out.push(JSON.parse(data) as LparEvent);
      end = this.pending.indexOf('\n\n');
    }
    return out;
  }
}

export class LparsimClient {
  private readonly transport: Transport;
  constructor(transport: Transport) {
    this.transport = transport;
  }

  private async call(req: HttpRequest): Promise<Uint8Array> {
    const res = await this.send(req);
    if (res.status >= 400) throw new ApiError(res.status, problemOf(res.status, res.body));
    return res.body;
  }

  /**
   * One request; a GET, PUT or DELETE (idempotent: sending it twice is sending it once) is sent
   * again when the connection fails, a POST never (it may have been applied).
   */
  private async send(req: HttpRequest) {
    const idempotent = req.method !== 'POST';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transport(req);
      } catch (e) {
        if (!idempotent || attempt >= IDEMPOTENT_RETRIES) throw e;
        await sleep(RETRY_DELAY_MS * (attempt + 1));
      }
    }
  }

  /**
   * The events of one LPAR (or of every LPAR, with `lpar` null), typed by the Event union. With
   * `follow` (the default) the stream stays open; after a disconnect (a restart, a network fault) it
   * reconnects with Last-Event-ID, so no kept event is lost or repeated, until the LPAR's stream ends
   * for good (lpar.deleted, lpar.rebooted) or `signal` aborts. Over an in-process transport there is
   * no open stream: the backlog is given and the iterator ends.
   */
  async *events(lpar: string | null, options: EventOptions = {}): AsyncGenerator<LparEvent, void, undefined> {
    let last = options.since ?? 0;
    const stream = this.transport.stream;
    const follow = (options.follow ?? true) && stream !== undefined;
    const path = `${lpar === null ? '/v1/events' : this.lp(lpar, '/events')}?follow=${follow}`;
    const headers = (): Record<string, string> => (last > 0 ? { 'last-event-id': String(last) } : {});
    if (!follow) {
      const body = await this.call({ method: 'GET', path, headers: headers() });
      yield* new SseParser().push(body);
      return;
    }
    for (;;) {
      try {
        const res = await stream!({ method: 'GET', path, headers: headers() }, options.signal);
        if (res.status >= 400) {
          const chunks: Uint8Array[] = [];
          for await (const c of res.chunks) chunks.push(c);
          throw new ApiError(res.status, problemOf(res.status, Buffer.concat(chunks)));
        }
        const parser = new SseParser();
        for await (const chunk of res.chunks)
          for (const e of parser.push(chunk)) {
            last = e.id;
            yield e;
            if (lpar !== null && (e.type === 'lpar.deleted' || e.type === 'lpar.rebooted')) return;
          }
      } catch (e) {
        if (e instanceof ApiError || options.signal?.aborted) {
          if (options.signal?.aborted) return;
          throw e;
        }
        // The connection went: reconnect below.
      }
      if (options.signal?.aborted) return;
      await sleep(options.reconnectMs ?? RETRY_DELAY_MS);
    }
  }

  private async json<T>(req: HttpRequest): Promise<T> {
    const body = await this.call(req);
    return (body.length ? JSON.parse(new TextDecoder().decode(body)) : null) as T;
  }

  private lp(id: string, rest = ''): string {
    return `/v1/lpars/${encodeURIComponent(id)}${rest}`;
  }

  health = () => this.json<Health>({ method: 'GET', path: '/healthz' });
  systems = () => this.json<{ items: System[] }>({ method: 'GET', path: '/v1/systems' });
  createLpar = (body: CreateLpar) =>
    this.json<Lpar>({ method: 'POST', path: '/v1/lpars', headers: json, body: JSON.stringify(body) });
  listLpars = () => this.json<{ items: Lpar[] }>({ method: 'GET', path: '/v1/lpars' });
  getLpar = (id: string) => this.json<Lpar>({ method: 'GET', path: this.lp(id) });
  deleteLpar = (id: string) => this.call({ method: 'DELETE', path: this.lp(id) }).then(() => undefined);
  /** Creates the LPAR `name` with `body`, or finds it created with the same body (409 for another). */
  putLpar = (name: string, body: Omit<CreateLpar, 'name'>) =>
    this.json<Lpar>({ method: 'PUT', path: this.lp(name), headers: json, body: JSON.stringify(body) });
  /** Boots the LPAR's tree again on its kernel (same id and name). */
  rebootLpar = (id: string) => this.json<Lpar>({ method: 'POST', path: this.lp(id, '/reboot') });
  /** Deletes every LPAR; answers how many. */
  deleteAllLpars = () =>
    this.json<{ deleted: number }>({ method: 'DELETE', path: '/v1/lpars?confirm=true' }).then(
      (r) => r.deleted,
    );
  /** The LPAR's history as JSON lines (GET …/journal): hand it to POST /v1/lpars/import anywhere. */
  exportJournal = (id: string) =>
    this.call({ method: 'GET', path: this.lp(id, '/journal') }).then((b) => new TextDecoder().decode(b));
  /** Rebuilds an LPAR from an exported history, named `name` or as it was. */
  importJournal = (history: string | Uint8Array, name?: string) =>
    this.json<Lpar>({
      method: 'POST',
      path: `/v1/lpars/import${name ? `?name=${encodeURIComponent(name)}` : ''}`,
      headers: { 'content-type': 'application/x-ndjson' },
      body: history,
    });
  nodeByPath = (id: string, path: string) =>
    this.json<Node>({ method: 'GET', path: this.lp(id, `/nodes?path=${encodeURIComponent(path)}`) });
  nodeByAddress = (id: string, address: string) =>
    this.json<Node>({ method: 'GET', path: this.lp(id, `/nodes/${address}`) });
  /** One page of nodes (of one state, when given) in address order, with how many there are in all. */
  nodesPage = (id: string, state?: string, page?: PageOptions) =>
    this.json<NodesPage>({ method: 'GET', path: this.lp(id, `/nodes${pageQuery(page, { state })}`) });
  /** Every node of a state, page after page; `total` as the first page counted it. */
  nodesByState = async (id: string, state: string, limit?: number) => {
    const { first, items } = await allPages<NodeSummaryDoc, NodesPage>((cursor) =>
      this.nodesPage(id, state, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }),
    );
    return { items, total: first.total };
  };
  /** of_find_node_by_phandle as a kernel caller (GET …/phandles/{phandle}): a number or a 0x-hex string. */
  findNodeByPhandle = (id: string, phandle: number | string) =>
    this.json<Lookup>({
      method: 'GET',
      path: this.lp(id, `/phandles/${typeof phandle === 'number' ? `0x${phandle.toString(16)}` : phandle}`),
    });
  /** @deprecated since the API's one vocabulary (docs/api.md): use findNodeByPhandle. */
  lookup = (id: string, phandle: number | string) => this.findNodeByPhandle(id, phandle);
  ofdt = (id: string, bytes: Uint8Array | string) =>
    this.json<{ command: string; bytes: number }>({
      method: 'POST',
      path: this.lp(id, '/proc/ppc64/ofdt'),
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
  get = (id: string, node: ClientNodeRef, holder: string) =>
    this.json<Ref>({
      method: 'POST',
      path: this.lp(id, '/refs'),
      headers: json,
      body: JSON.stringify({ node, holder }),
    });
  putRef = (id: string, ref: string) =>
    this.json<Ref>({ method: 'DELETE', path: this.lp(id, `/refs/${ref}`) });
  putByHolder = (id: string, node: ClientNodeRef, holder: string) =>
    this.json<NodeSummaryDoc>({
      method: 'POST',
      path: this.lp(id, '/refs/put'),
      headers: json,
      body: JSON.stringify({ node, holder }),
    });
  dmesg = (id: string, since = 0) =>
    this.json<DmesgPage>({ method: 'GET', path: this.lp(id, `/dmesg?since=${since}`) });
  invariants = (id: string) => this.json<Invariants>({ method: 'GET', path: this.lp(id, '/invariants') });
  phandleCache = (id: string) =>
    this.json<PhandleCache>({ method: 'GET', path: this.lp(id, '/phandle-cache') });
  rebuildPhandleCache = (id: string) =>
    this.json<PhandleCache>({ method: 'POST', path: this.lp(id, '/phandle-cache/rebuild') });
  /** @deprecated since the API's one vocabulary (docs/api.md): use rebuildPhandleCache. */
  rebuildCache = (id: string) => this.rebuildPhandleCache(id);
  leaksPage = (id: string, page?: PageOptions) =>
    this.json<PageDoc<Leak>>({ method: 'GET', path: this.lp(id, `/leaks${pageQuery(page)}`) });
  /** Every leak, page after page. */
  leaks = async (id: string, limit?: number) => ({
    items: (
      await allPages<Leak, PageDoc<Leak>>((cursor) =>
        this.leaksPage(id, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }),
      )
    ).items,
  });
  refcountsPage = (id: string, state?: string, page?: PageOptions) =>
    this.json<PageDoc<NodeSummaryDoc>>({
      method: 'GET',
      path: this.lp(id, `/refcounts${pageQuery(page, { state })}`),
    });
  /** Every node's count and holders (of one state, when given), page after page. */
  refcounts = async (id: string, state?: string, limit?: number) => ({
    items: (
      await allPages<NodeSummaryDoc, PageDoc<NodeSummaryDoc>>((cursor) =>
        this.refcountsPage(id, state, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) }),
      )
    ).items,
  });
  migrate = (id: string, body: MigrationRequest) =>
    this.json<Migration>({
      method: 'POST',
      path: this.lp(id, '/migrations'),
      headers: json,
      body: JSON.stringify(body),
    });

  /** A path of the emulated /sys or /proc/device-tree (absolute, e.g. /sys/devices/vio). */
  private viewPath(id: string, path: string): string {
    const m = /^\/(sys|proc\/device-tree)(\/.*)?$/.exec(path);
    if (!m) throw new Error(`not a /sys or /proc/device-tree path: ${path}`);
    const rest = (m[2] ?? '').split('/').map(encodeURIComponent).join('/');
    return this.lp(id, `/${m[1]}${rest}`);
  }
  /** Metadata (or, for a directory, one page of its listing) without reading: no kernel side effects. */
  stat = (id: string, path: string, page?: PageOptions) =>
    this.json<ViewListing>({
      method: 'GET',
      path: `${this.viewPath(id, path)}${pageQuery(page, { stat: 'true' })}`,
    });
  /** Metadata and, for a directory, every entry, page after page (no kernel side effects). */
  list = async (id: string, path: string, limit?: number): Promise<ViewListing> => {
    const at = (cursor?: string) =>
      this.stat(id, path, { ...(limit ? { limit } : {}), ...(cursor ? { cursor } : {}) });
    const first = await at();
    if (first.type !== 'dir') return first;
    const { items } = await allPages<ViewEntry, PageDoc<ViewEntry>>(async (cursor) => {
      const page = cursor === undefined ? first : await at(cursor);
      return { items: page.items ?? [], next: page.next ?? null };
    });
    return { ...first, items, next: null };
  };
  /** Reads a file as task `cat` (with the kernel's side effects). */
  read = (id: string, path: string) => this.call({ method: 'GET', path: this.viewPath(id, path) });
  // The operations the CLI reaches besides the ones above (issue 12: one method per operation).
  readiness = () => this.json<Readiness>({ method: 'GET', path: '/readyz' });
  /** Prometheus text. */
  metrics = () => this.call({ method: 'GET', path: '/metrics' }).then((b) => new TextDecoder().decode(b));
  /** Kernel profiles (what `kernel` names) and tree profiles (what `profile` names). */
  profiles = () => this.json<Profiles>({ method: 'GET', path: '/v1/profiles' });
  getSystem = (name: string) =>
    this.json<System>({ method: 'GET', path: `/v1/systems/${encodeURIComponent(name)}` });
  addSystem = (body: CreateSystem) =>
    this.json<System>({ method: 'POST', path: '/v1/systems', headers: json, body: JSON.stringify(body) });
  /** Boots an LPAR from a flattened device tree (`dtc -I fs -O dtb /proc/device-tree`). */
  createLparFromDtb = (dtb: Uint8Array, query: FromDtbQuery) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    return this.json<Lpar>({
      method: 'POST',
      path: `/v1/lpars/from-dtb?${q}`,
      headers: { 'content-type': 'application/octet-stream' },
      body: dtb,
    });
  };
  addNode = (id: string, body: AddNode) =>
    this.json<Ofdt>({
      method: 'POST',
      path: this.lp(id, '/nodes'),
      headers: json,
      body: JSON.stringify(body),
    });
  removeNode = (id: string, path: string) =>
    this.json<Ofdt>({ method: 'DELETE', path: this.lp(id, `/nodes?path=${encodeURIComponent(path)}`) });
  addProperty = (id: string, body: PropertyEdit) =>
    this.json<Ofdt>({
      method: 'POST',
      path: this.lp(id, '/properties'),
      headers: json,
      body: JSON.stringify(body),
    });
  updateProperty = (id: string, body: PropertyEdit) =>
    this.json<Ofdt>({
      method: 'PUT',
      path: this.lp(id, '/properties'),
      headers: json,
      body: JSON.stringify(body),
    });
  removeProperty = (id: string, phandle: number | string, name: string) =>
    this.json<Ofdt>({
      method: 'DELETE',
      path: this.lp(id, `/properties?${new URLSearchParams({ phandle: String(phandle), name })}`),
    });
  /** References taken over the API (POST …/refs) and not yet put. */
  listRefs = (id: string) => this.json<{ items: Ref[] }>({ method: 'GET', path: this.lp(id, '/refs') });
  vio = (id: string) => this.json<VioDevices>({ method: 'GET', path: this.lp(id, '/vio') });
  drivers = (id: string) => this.json<VioDrivers>({ method: 'GET', path: this.lp(id, '/drivers') });
  migrations = (id: string) =>
    this.json<{ items: Migration[] }>({ method: 'GET', path: this.lp(id, '/migrations') });
  getMigration = (id: string, migration: string) =>
    this.json<Migration>({
      method: 'GET',
      path: this.lp(id, `/migrations/${encodeURIComponent(migration)}`),
    });
  /** The attached tree as a flattened device tree. */
  treeDtb = (id: string) => this.call({ method: 'GET', path: this.lp(id, '/tree.dtb') });
  /** The attached tree as device tree source. */
  treeDts = (id: string) =>
    this.call({ method: 'GET', path: this.lp(id, '/tree.dts') }).then((b) => new TextDecoder().decode(b));
  /** /sys/firmware/devicetree/base as a tar (for `dtc -I fs`). */
  sysfsTar = (id: string) => this.call({ method: 'GET', path: this.lp(id, '/sysfs.tar') });
  /** The same tar, gzip-compressed. */
  sysfsTarGz = (id: string) => this.call({ method: 'GET', path: this.lp(id, '/sysfs.tar.gz') });

  // Every operation under its operationId in openapi/openapi.json (issue 12: one vocabulary), for the
  // ones whose method above carries a shorter name; test/unit/client-operations.test.ts checks each
  // reaches its operation. The short names stay: they read better in scripts.
  getHealth = () => this.health();
  getReadiness = () => this.readiness();
  getMetrics = () => this.metrics();
  listProfiles = () => this.profiles();
  listSystems = () => this.systems();
  /** The events of every LPAR (see events). */
  streamEvents = (options?: EventOptions) => this.events(null, options);
  /** The events of one LPAR (see events). */
  streamLparEvents = (id: string, options?: EventOptions) => this.events(id, options);
  /** GET …/nodes: the node at `path`, or else one page of nodes (of one state, when given). */
  getNodes = (id: string, query: { path: string } | { state?: string; page?: PageOptions }) =>
    'path' in query ? this.nodeByPath(id, query.path) : this.nodesPage(id, query.state, query.page);
  getNodeByAddress = (id: string, address: string) => this.nodeByAddress(id, address);
  /** of_node_get as `holder` (POST …/refs). */
  getRef = (id: string, node: ClientNodeRef, holder: string) => this.get(id, node, holder);
  listRefcounts = (id: string, state?: string, page?: PageOptions) => this.refcountsPage(id, state, page);
  listLeaks = (id: string, page?: PageOptions) => this.leaksPage(id, page);
  writeOfdt = (id: string, bytes: Uint8Array | string) => this.ofdt(id, bytes);
  /** GET …/sys: the listing of /sys, as task `cat`/`ls` would see it (see read and stat). */
  getSysRoot = (id: string) => this.read(id, '/sys');
  /** GET …/sys/{path}: a file read as task `cat` (with the kernel's side effects), or a listing. */
  getSys = (id: string, path: string) => this.read(id, `/sys/${path.replace(/^\/+/, '')}`);
  getProcDeviceTreeRoot = (id: string) => this.read(id, '/proc/device-tree');
  getProcDeviceTree = (id: string, path: string) =>
    this.read(id, `/proc/device-tree/${path.replace(/^\/+/, '')}`);
  exportSysfsTar = (id: string) => this.sysfsTar(id);
  exportSysfsTarGz = (id: string) => this.sysfsTarGz(id);
  exportTreeDtb = (id: string) => this.treeDtb(id);
  exportTreeDts = (id: string) => this.treeDts(id);
  getDmesg = (id: string, since?: number) => this.dmesg(id, since);
  getPhandleCache = (id: string) => this.phandleCache(id);
  listVioDevices = (id: string) => this.vio(id);
  listVioDrivers = (id: string) => this.drivers(id);
  checkInvariants = (id: string) => this.invariants(id);
  migrateLpar = (id: string, body: MigrationRequest) => this.migrate(id, body);
  /** A PRRN event naming `body.nodes` (K-PRRN); the kernel handles it as its profile does. */
  prrnUpdate = (id: string, body: PrrnRequest) =>
    this.json<PrrnEvent>({
      method: 'POST',
      path: this.lp(id, '/prrn'),
      headers: json,
      body: JSON.stringify(body),
    });
  prrn = (id: string, body: PrrnRequest) => this.prrnUpdate(id, body);
  /** of_overlay_fdt_apply of an overlay blob (`dtc -@ -O dtb`); a kernel errno is an ApiError with it. */
  applyOverlay = (id: string, blob: Uint8Array) =>
    this.json<AppliedOverlay>({
      method: 'POST',
      path: this.lp(id, '/overlays'),
      headers: { 'content-type': 'application/octet-stream' },
      body: blob,
    });
  listOverlays = (id: string) =>
    this.json<{ items: Overlay[] }>({ method: 'GET', path: this.lp(id, '/overlays') });
  getOverlay = (id: string, overlay: number | string) =>
    this.json<Overlay>({ method: 'GET', path: this.lp(id, `/overlays/${overlay}`) });
  /** of_overlay_remove: only the topmost overlay may go (EBUSY, 409, otherwise). */
  removeOverlay = (id: string, overlay: number | string) =>
    this.json<RemovedOverlay>({ method: 'DELETE', path: this.lp(id, `/overlays/${overlay}`) });
  /**
   * drmgr's write(2) of one DLPAR command to /sys/kernel/dlpar (`cpu add index 0x10000008`); a
   * negative rc is an ApiError carrying the errno, rc and dmesg.
   */
  writeDlpar = (id: string, command: string) =>
    this.json<DlparWrite>({
      method: 'POST',
      path: this.lp(id, '/sys/kernel/dlpar'),
      headers: { 'content-type': 'text/plain' },
      body: command,
    });
  dlpar = (id: string, command: string) => this.writeDlpar(id, command);
  /**
   * drmgr's write(2) of a virtual I/O slot's drc name to rpadlpar's add_slot (vio device registered)
   * or remove_slot (unregistered); a negative rc is an ApiError carrying the errno, rc and dmesg.
   */
  writeAddSlot = (id: string, drcName: string) => this.writeSlot(id, 'add_slot', drcName);
  writeRemoveSlot = (id: string, drcName: string) => this.writeSlot(id, 'remove_slot', drcName);
  writeSlot = (id: string, file: 'add_slot' | 'remove_slot', drcName: string) =>
    this.json<SlotWrite>({
      method: 'POST',
      path: this.lp(id, `/sys/bus/pci/slots/control/${file}`),
      headers: { 'content-type': 'text/plain' },
      body: drcName,
    });
  listMigrations = (id: string) => this.migrations(id);
}
