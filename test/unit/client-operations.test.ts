// The client has a member for every operation of openapi/openapi.json, named by its operationId
// (issue 12: one vocabulary), and each sends the request of that operation: its method, and a path
// that the operation's path template matches. A recording transport stands in for the server.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LparsimClient } from '../../src/client/client.ts';
import type { HttpRequest, Transport } from '../../src/client/transport.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const doc = JSON.parse(readFileSync(`${ROOT}openapi/openapi.json`, 'utf8')) as {
  paths: Record<string, Record<string, { operationId: string }>>;
};

const LPAR = 'lpar-1';
const node = { path: '/vdevice' };
/** Arguments for each member beyond what every LPAR operation takes first (the LPAR's id). */
const ARGS: Record<string, unknown[]> = {
  getSystem: ['p9-alpha'],
  addSystem: [{ name: 'x' }],
  createLpar: [{ kernel: '4.18' }],
  putLpar: ['web', { kernel: '4.18' }],
  createLparFromDtb: [new Uint8Array(8), { kernel: '4.18' }],
  importJournal: ['{}\n'],
  streamEvents: [{ follow: false }],
  streamLparEvents: [LPAR, { follow: false }],
  getNodes: [LPAR, { path: '/cpus' }],
  addNode: [LPAR, { path: '/vdevice/x@1', properties: [] }],
  removeNode: [LPAR, '/vdevice/x@1'],
  getNodeByAddress: [LPAR, 'c000000001000000'],
  findNodeByPhandle: [LPAR, 1],
  getRef: [LPAR, node, 'test'],
  putRef: [LPAR, 'ref-1'],
  putByHolder: [LPAR, node, 'test'],
  writeOfdt: [LPAR, 'remove_node 0x1'],
  addProperty: [LPAR, { phandle: 1, property: { name: 'x', u32: [1] } }],
  updateProperty: [LPAR, { phandle: 1, property: { name: 'x', u32: [1] } }],
  removeProperty: [LPAR, 1, 'x'],
  getSys: [LPAR, 'firmware/devicetree/base/name'],
  getProcDeviceTree: [LPAR, 'name'],
  migrateLpar: [LPAR, { destination: 'p9-beta' }],
  prrnUpdate: [LPAR, { nodes: [{ path: '/cpus' }] }],
  writeDlpar: [LPAR, 'cpu add count 1'],
  applyOverlay: [LPAR, new Uint8Array(8)],
  getOverlay: [LPAR, 1],
  removeOverlay: [LPAR, 1],
  getMigration: [LPAR, 'mig-1'],
};
const GLOBAL = new Set([
  'getHealth',
  'getReadiness',
  'getMetrics',
  'listProfiles',
  'listSystems',
  'getSystem',
  'addSystem',
  'createLpar',
  'listLpars',
  'deleteAllLpars',
  'putLpar',
  'createLparFromDtb',
  'importJournal',
  'streamEvents',
]);

function template(path: string): RegExp {
  const source = path
    .split('/')
    .map((part) =>
      part === '{path}' ? '.+' : part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}(\\?.*)?$`);
}

describe('the client: one member per operation (issue 12)', () => {
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), id: op.operationId })),
  );

  it('names a member by each operationId, and each sends that operation', async () => {
    const sent: HttpRequest[] = [];
    const transport: Transport = async (req) => {
      sent.push(req);
      return { status: 200, headers: {}, body: new TextEncoder().encode('{"items":[],"deleted":0}') };
    };
    const client = new LparsimClient(transport) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const wrong: string[] = [];
    for (const op of operations) {
      const member = client[op.id];
      if (typeof member !== 'function') {
        wrong.push(`${op.id}: no member`);
        continue;
      }
      sent.length = 0;
      const args = ARGS[op.id] ?? (GLOBAL.has(op.id) ? [] : [LPAR]);
      const result = member(...args);
      if (result && typeof (result as AsyncGenerator).next === 'function')
        await (result as AsyncGenerator).next();
      else await result;
      const req = sent[0];
      if (sent.length !== 1 || !req) wrong.push(`${op.id}: sent ${sent.length} requests`);
      else if (req.method !== op.method || !template(op.path).test(req.path))
        wrong.push(`${op.id}: sent ${req.method} ${req.path}, the operation is ${op.method} ${op.path}`);
    }
    assert.deepEqual(wrong, []);
    assert.equal(operations.length, new Set(operations.map((o) => o.id)).size, 'operationIds are unique');
  });
});
