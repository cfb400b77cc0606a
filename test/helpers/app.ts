import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { LparsimClient } from '../../src/client/client.ts';
import { injectTransport } from '../../src/client/transport.ts';
import { type Config, loadConfig } from '../../src/config.ts';

export async function testApp(
  env: Record<string, string> = {},
): Promise<{ app: FastifyInstance; client: LparsimClient; config: Config }> {
  const config = { ...loadConfig(env), LOG_LEVEL: 'silent' as const };
  const app = await buildApp(config);
  return { app, client: new LparsimClient(injectTransport(app)), config };
}

/** POST /v1/lpars, which must answer 201: the new LPAR's id. */
export async function createLparId(app: FastifyInstance, payload: object): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/lpars', payload });
  if (res.statusCode !== 201) throw new Error(`POST /v1/lpars answered ${res.statusCode}: ${res.body}`);
  return res.json().id;
}

/** Everything a failed request must leave unchanged, as the API shows it. */
export async function fingerprint(app: FastifyInstance, lpar: string): Promise<string> {
  const parts = await Promise.all(
    [
      `/v1/lpars/${lpar}`,
      `/v1/lpars/${lpar}/refcounts`,
      `/v1/lpars/${lpar}/dmesg`,
      `/v1/lpars/${lpar}/phandle-cache`,
      `/v1/lpars/${lpar}/refs`,
      `/v1/lpars/${lpar}/migrations`,
    ].map(async (url) => (await app.inject({ url })).body),
  );
  // Paged listings: every page of /refcounts, not only the first.
  for (let next = JSON.parse(parts[1]!).next; next; ) {
    const page = await app.inject({ url: `/v1/lpars/${lpar}/refcounts?cursor=${encodeURIComponent(next)}` });
    parts.push(page.body);
    next = JSON.parse(page.body).next;
  }
  return parts.join('\n');
}

/** A problem+json body: the RFC 9457 members, and the extension members some kinds add. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errno?: string;
  /** Validation problems: where each error is. */
  errors?: Array<{ where: string; path: string; message: string }>;
  /** task-killed (E7): the signal, the faulting function, the task, and whether the partition panicked. */
  signal?: string;
  function?: string;
  comm?: string;
  panicked?: boolean;
  taint?: string[];
}

export function problemOf(res: {
  headers: Record<string, unknown>;
  body: string;
  statusCode: number;
}): Problem {
  if (!String(res.headers['content-type']).startsWith('application/problem+json'))
    throw new Error(`not problem+json: ${res.headers['content-type']} ${res.body}`);
  return JSON.parse(res.body) as Problem;
}

/** The kind of a problem: the last segment of its type URI (`task-killed`, `panicked`, …). */
export function problemKind(p: Problem): string {
  return p.type.slice(p.type.lastIndexOf('/') + 1);
}

/** A write(2) to /proc/ppc64/ofdt, as drmgr does it: the command's bytes as given. */
export function ofdtWrite(app: FastifyInstance, lpar: string, command: string) {
  return app.inject({
    method: 'POST',
    url: `/v1/lpars/${lpar}/proc/ppc64/ofdt`,
    payload: Buffer.from(command, 'latin1'),
    headers: { 'content-type': 'application/octet-stream' },
  });
}

/** The text of every dmesg line after line `since` (all of them without it). */
export async function dmesgSince(app: FastifyInstance, lpar: string, since?: number): Promise<string[]> {
  const url = since === undefined ? `/v1/lpars/${lpar}/dmesg` : `/v1/lpars/${lpar}/dmesg?since=${since}`;
  return (await app.inject({ url })).json().items.map((l: { text: string }) => l.text);
}

/** Where dmesg ends now: pass it to dmesgSince to read only what comes after. */
export async function dmesgNext(app: FastifyInstance, lpar: string): Promise<number> {
  return (await app.inject({ url: `/v1/lpars/${lpar}/dmesg` })).json().next;
}

/** A node document by path (GET …/nodes?path=…). */
export async function nodeByPath(app: FastifyInstance, lpar: string, path: string) {
  const res = await app.inject({ url: `/v1/lpars/${lpar}/nodes?path=${encodeURIComponent(path)}` });
  if (res.statusCode !== 200) throw new Error(`GET node ${path}: ${res.statusCode} ${res.body}`);
  return res.json() as {
    address: string;
    path: string | null;
    state: string;
    refcount: number | string;
    holders: Array<{ holder: string; count: number }>;
    flags: string[];
    sysfs: { inSysfs: boolean; name: string };
  };
}

/** The holder names of a node, with a count suffix where one holder holds more than once (`cacheinfo×2`). */
export function holderNames(n: { holders: Array<{ holder: string; count: number }> }): string[] {
  return n.holders.map((h) => (h.count === 1 ? h.holder : `${h.holder}×${h.count}`));
}
