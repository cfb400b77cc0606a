// Every documented operation's operationId (issue 12, point 4), in one table so the names read as
// one vocabulary: generated clients get these names instead of invented ones. A documented route
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
  'GET /v1/lpars/:lpar/events': 'streamLparEvents',
  'GET /v1/events': 'streamEvents',
};

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
    }
  });
}
