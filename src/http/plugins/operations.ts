// Every documented operation's operationId and example (issue 12, point 4), in one table so the names
// read as one vocabulary: generated clients get these names instead of invented ones. A documented route
// missing from the table stops the service at start (and fails every test), so none is forgotten.

import type { FastifyInstance } from 'fastify';

export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /healthz': 'getHealth',
  'GET /readyz': 'getReadiness',
  'GET /metrics': 'getMetrics',
  'GET /v1/profiles': 'listProfiles',
  'GET /v1/systems': 'listSystems',
  'POST /v1/systems': 'addSystem',
  'GET /v1/systems/:name': 'getSystem',
  'POST /v1/lpars': 'createLpar',
  'GET /v1/lpars': 'listLpars',
  'DELETE /v1/lpars': 'deleteAllLpars',
  'PUT /v1/lpars/:lpar': 'putLpar',
  'GET /v1/lpars/:lpar': 'getLpar',
  'DELETE /v1/lpars/:lpar': 'deleteLpar',
  'POST /v1/lpars/from-dtb': 'createLparFromDtb',
  'POST /v1/lpars/:lpar/reboot': 'rebootLpar',
  'GET /v1/lpars/:lpar/journal': 'exportJournal',
  'POST /v1/lpars/import': 'importJournal',
  'GET /v1/lpars/:lpar/nodes': 'getNodes',
  'POST /v1/lpars/:lpar/nodes': 'addNode',
  'DELETE /v1/lpars/:lpar/nodes': 'removeNode',
  'GET /v1/lpars/:lpar/nodes/:address': 'getNodeByAddress',
  'GET /v1/lpars/:lpar/phandles/:phandle': 'findNodeByPhandle',
  'POST /v1/lpars/:lpar/refs': 'getRef',
  'GET /v1/lpars/:lpar/refs': 'listRefs',
  'DELETE /v1/lpars/:lpar/refs/:ref': 'putRef',
  'POST /v1/lpars/:lpar/refs/put': 'putByHolder',
  'GET /v1/lpars/:lpar/refcounts': 'listRefcounts',
  'GET /v1/lpars/:lpar/leaks': 'listLeaks',
  'POST /v1/lpars/:lpar/proc/ppc64/ofdt': 'writeOfdt',
  'POST /v1/lpars/:lpar/properties': 'addProperty',
  'PUT /v1/lpars/:lpar/properties': 'updateProperty',
  'DELETE /v1/lpars/:lpar/properties': 'removeProperty',
  'GET /v1/lpars/:lpar/sys': 'getSysRoot',
  'GET /v1/lpars/:lpar/sys/*': 'getSys',
  'GET /v1/lpars/:lpar/proc/device-tree': 'getProcDeviceTreeRoot',
  'GET /v1/lpars/:lpar/proc/device-tree/*': 'getProcDeviceTree',
  'GET /v1/lpars/:lpar/sysfs.tar': 'exportSysfsTar',
  'GET /v1/lpars/:lpar/sysfs.tar.gz': 'exportSysfsTarGz',
  'GET /v1/lpars/:lpar/tree.dtb': 'exportTreeDtb',
  'GET /v1/lpars/:lpar/tree.dts': 'exportTreeDts',
  'GET /v1/lpars/:lpar/dmesg': 'getDmesg',
  'GET /v1/lpars/:lpar/phandle-cache': 'getPhandleCache',
  'POST /v1/lpars/:lpar/phandle-cache/rebuild': 'rebuildPhandleCache',
  'GET /v1/lpars/:lpar/vio': 'listVioDevices',
  'GET /v1/lpars/:lpar/drivers': 'listVioDrivers',
  'GET /v1/lpars/:lpar/invariants': 'checkInvariants',
  'POST /v1/lpars/:lpar/migrations': 'migrateLpar',
  'GET /v1/lpars/:lpar/migrations': 'listMigrations',
  'GET /v1/lpars/:lpar/migrations/:migration': 'getMigration',
  'POST /v1/lpars/:lpar/prrn': 'prrnUpdate',
  'POST /v1/lpars/:lpar/sys/kernel/dlpar': 'writeDlpar',
  'POST /v1/lpars/:lpar/sys/bus/pci/slots/control/add_slot': 'writeAddSlot',
  'POST /v1/lpars/:lpar/sys/bus/pci/slots/control/remove_slot': 'writeRemoveSlot',
  'POST /v1/lpars/:lpar/overlays': 'applyOverlay',
  'GET /v1/lpars/:lpar/overlays': 'listOverlays',
  'GET /v1/lpars/:lpar/overlays/:overlay': 'getOverlay',
  'DELETE /v1/lpars/:lpar/overlays/:overlay': 'removeOverlay',
  'GET /v1/lpars/:lpar/events': 'streamLparEvents',
  'GET /v1/events': 'streamEvents',
};

/**
 * One request each operation documents as its example (what Swagger's "Try it out" starts from), on
 * the LPAR of the walk-through: `web`, created with {"kernel":"4.18","name":"web","options":
 * {"spareCores":1}} (connector 0x10000008 free for a DLPAR cpu add), holding reference
 * r1 on /cpus (holder `example`), migrated once to p9-beta (m1) and with overlay 1 applied (a
 * target-path overlay). test/api/examples.test.ts sends every one of them to such an LPAR and expects
 * 2xx. Binary bodies (a DTB, a history, an overlay blob) have no example here: their descriptions say
 * which export or tool gives one.
 */
export interface OperationExample {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  /** Written into the document's request body (plugins/swagger.ts), not the route schema. */
  readonly body?: unknown;
}

const WEB = { lpar: 'web' };
export const OPERATION_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  addSystem: { body: { name: 'p9-gamma', processor: 'POWER9', machineType: '9009-42A', serial: '7C0FFEE' } },
  getSystem: { params: { name: 'p9-alpha' } },
  createLpar: { body: { kernel: '4.18', name: 'db' } },
  deleteAllLpars: { query: { confirm: true } },
  putLpar: { params: { lpar: 'compose-db' }, body: { kernel: '5.16' } },
  getLpar: { params: WEB },
  deleteLpar: { params: WEB },
  createLparFromDtb: { query: { kernel: '5.0', name: 'uploaded' } },
  rebootLpar: { params: WEB },
  exportJournal: { params: WEB },
  importJournal: { query: { name: 'web-copy' } },
  getNodes: { params: WEB, query: { path: '/cpus' } },
  addNode: {
    params: WEB,
    body: { path: '/vdevice/example@1', properties: [{ name: 'compatible', string: 'lparsim,example' }] },
  },
  removeNode: { params: WEB, query: { path: '/vdevice/vty@30000000' } },
  getNodeByAddress: { params: { ...WEB, address: 'c000000002000800' } },
  findNodeByPhandle: { params: { ...WEB, phandle: '0xfffffff7' } },
  getRef: { params: WEB, body: { node: { path: '/cpus' }, holder: 'example' } },
  listRefs: { params: WEB },
  putRef: { params: { ...WEB, ref: 'r1' } },
  putByHolder: { params: WEB, body: { node: { path: '/cpus' }, holder: 'example' } },
  listRefcounts: { params: WEB, query: { state: 'attached', limit: 10 } },
  listLeaks: { params: WEB, query: { limit: 10 } },
  writeOfdt: { params: WEB, body: 'add_node /vdevice/example@2 compatible 16 lparsim,example\u0000' },
  addProperty: { params: WEB, body: { phandle: '0xfffffff7', property: { name: 'example', u32: [1] } } },
  updateProperty: {
    params: WEB,
    body: { phandle: '0xfffffff7', property: { name: '#size-cells', u32: [0] } },
  },
  removeProperty: { params: WEB, query: { phandle: '0xfffffff7', name: '#size-cells' } },
  getSysRoot: { params: WEB },
  getSys: { params: { ...WEB, '*': 'firmware/devicetree/base/cpus' } },
  getProcDeviceTreeRoot: { params: WEB },
  getProcDeviceTree: { params: { ...WEB, '*': 'cpus' } },
  exportSysfsTar: { params: WEB },
  exportSysfsTarGz: { params: WEB },
  exportTreeDtb: { params: WEB },
  exportTreeDts: { params: WEB },
  getDmesg: { params: WEB, query: { since: 0 } },
  getPhandleCache: { params: WEB },
  rebuildPhandleCache: { params: WEB },
  listVioDevices: { params: WEB },
  listVioDrivers: { params: WEB },
  checkInvariants: { params: WEB },
  migrateLpar: { params: WEB, body: { destination: 'p9-alpha' } },
  listMigrations: { params: WEB },
  getMigration: { params: { ...WEB, migration: 'm1' } },
  prrnUpdate: {
    params: WEB,
    body: { nodes: [{ path: '/cpus', properties: [{ name: 'ibm,example', u32: [2] }] }] },
  },
  writeDlpar: { params: WEB, body: 'cpu add index 0x10000008' },
  writeAddSlot: { params: WEB, body: 'U9009.42A.7843A1B-V1-C3' },
  writeRemoveSlot: { params: WEB, body: 'U9009.42A.7843A1B-V1-C2' },
  applyOverlay: { params: WEB },
  listOverlays: { params: WEB },
  getOverlay: { params: { ...WEB, overlay: '1' } },
  removeOverlay: { params: { ...WEB, overlay: '1' } },
  streamLparEvents: { params: WEB, query: { follow: false } },
  streamEvents: { query: { follow: false } },
};

type Schema = Record<string | symbol, unknown>;

/** `schema` with `values` as the examples of its named properties (a copy: schemas are shared). */
function withPropertyExamples(schema: unknown, values: Readonly<Record<string, unknown>>): unknown {
  const s = schema as Schema | undefined;
  const props = s?.properties as Record<string, Schema> | undefined;
  if (!s || !props) return schema;
  const copy: Record<string, Schema> = { ...props };
  for (const [k, v] of Object.entries(values)) if (copy[k]) copy[k] = { ...copy[k], examples: [v] };
  return { ...s, properties: copy };
}

export function registerOperationIds(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { hide?: boolean; operationId?: string } | undefined;
    if (!schema || schema.hide) return;
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (method === 'HEAD') continue;
      const id = OPERATION_IDS[`${method} ${route.url}`];
      if (!id)
        throw new Error(
          `no operationId for ${method} ${route.url}: add it to src/http/plugins/operations.ts`,
        );
      schema.operationId = id;
      const ex = OPERATION_EXAMPLES[id];
      if (!ex) continue;
      const sc = schema as Record<string, unknown>;
      if (ex.params) sc.params = withPropertyExamples(sc.params, ex.params);
      if (ex.query) sc.querystring = withPropertyExamples(sc.querystring, ex.query);
    }
  });
}
