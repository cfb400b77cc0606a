// The typed lparsim client. Request and response shapes come from the route schemas (src/http/schemas),
// so a change there is a type error here.

import type { Static } from '@sinclair/typebox';
import type { CreateLparBody, LparDoc, SystemDoc } from '../http/schemas/lpars.ts';
import type { LookupDoc, NodeDoc, NodeSummary, RefDoc } from '../http/schemas/nodes.ts';
import type { HttpRequest, Transport } from './transport.ts';

export type CreateLpar = Static<typeof CreateLparBody>;
export type Lpar = Static<typeof LparDoc>;
export type Node = Static<typeof NodeDoc>;
export type Lookup = Omit<Static<typeof LookupDoc>, 'node'> & { readonly node: Node | null };
export type Ref = Static<typeof RefDoc>;
export type System = Static<typeof SystemDoc>;
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
}

const json = { 'content-type': 'application/json' };

export class LparsimClient {
  private readonly transport: Transport;
  constructor(transport: Transport) {
    this.transport = transport;
  }

  private async call(req: HttpRequest): Promise<Uint8Array> {
    const res = await this.transport(req);
    if (res.status >= 400) {
      const text = new TextDecoder().decode(res.body);
      let problem: Problem;
      try {
        problem = JSON.parse(text) as Problem;
      } catch {
        problem = { type: 'about:blank', title: 'Error', status: res.status, detail: text };
      }
      throw new ApiError(res.status, problem);
    }
    return res.body;
  }

  private async json<T>(req: HttpRequest): Promise<T> {
    const body = await this.call(req);
    return (body.length ? JSON.parse(new TextDecoder().decode(body)) : null) as T;
  }

  private lp(id: string, rest = ''): string {
    return `/v1/lpars/${encodeURIComponent(id)}${rest}`;
  }

  health = () => this.json<{ status: string }>({ method: 'GET', path: '/healthz' });
  systems = () => this.json<{ items: System[] }>({ method: 'GET', path: '/v1/systems' });
  createLpar = (body: CreateLpar) =>
    this.json<Lpar>({ method: 'POST', path: '/v1/lpars', headers: json, body: JSON.stringify(body) });
  listLpars = () => this.json<{ items: Lpar[] }>({ method: 'GET', path: '/v1/lpars' });
  getLpar = (id: string) => this.json<Lpar>({ method: 'GET', path: this.lp(id) });
  deleteLpar = (id: string) => this.call({ method: 'DELETE', path: this.lp(id) }).then(() => undefined);
  nodeByPath = (id: string, path: string) =>
    this.json<Node>({ method: 'GET', path: this.lp(id, `/nodes?path=${encodeURIComponent(path)}`) });
  nodeByAddress = (id: string, address: string) =>
    this.json<Node>({ method: 'GET', path: this.lp(id, `/nodes/${address}`) });
  nodesByState = (id: string, state: string) =>
    this.json<{ items: NodeSummaryDoc[]; total: number }>({
      method: 'GET',
      path: this.lp(id, `/nodes?state=${state}`),
    });
  lookup = (id: string, phandle: number | string) =>
    this.json<Lookup>({
      method: 'GET',
      path: this.lp(id, `/phandles/${typeof phandle === 'number' ? `0x${phandle.toString(16)}` : phandle}`),
    });
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
    this.json<{ items: Array<{ seq: number; level: string; text: string; line: string }>; next: number }>({
      method: 'GET',
      path: this.lp(id, `/dmesg?since=${since}`),
    });
  invariants = (id: string) =>
    this.json<{ ok: boolean; items: Array<{ name: string; ok: boolean; details: string[] }> }>({
      method: 'GET',
      path: this.lp(id, '/invariants'),
    });
  phandleCache = (id: string) =>
    this.json<Record<string, unknown>>({ method: 'GET', path: this.lp(id, '/phandle-cache') });
  rebuildCache = (id: string) =>
    this.json<Record<string, unknown>>({ method: 'POST', path: this.lp(id, '/phandle-cache/rebuild') });
  leaks = (id: string) =>
    this.json<{ items: Array<Record<string, unknown>> }>({ method: 'GET', path: this.lp(id, '/leaks') });
  migrate = (
    id: string,
    body: { destination: string; dryRun?: boolean; faults?: unknown[]; updates?: unknown },
  ) =>
    this.json<{ id: string; state: string; report?: Record<string, unknown> }>({
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
  /** Metadata (or a listing) without reading: no kernel side effects. */
  stat = (id: string, path: string) =>
    this.json<ViewListing>({ method: 'GET', path: `${this.viewPath(id, path)}?stat=true` });
  /** Reads a file as task `cat` (with the kernel's side effects). */
  read = (id: string, path: string) => this.call({ method: 'GET', path: this.viewPath(id, path) });
}
