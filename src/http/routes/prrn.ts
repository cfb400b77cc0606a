import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { badRequest } from '../../lpar/errors.ts';
import { migrationGrowthBytes } from '../../lpar/migrations.ts';
import type { PrrnNode } from '../../lpar/prrn.ts';
import { LparId, parsePhandle, problemResponses } from '../schemas/common.ts';
import { propertyValueBytes } from '../schemas/nodes.ts';
import { PrrnBody, PrrnDoc, type PrrnNodeBody } from '../schemas/prrn.ts';

function toPrrnNode(n: Static<typeof PrrnNodeBody>): PrrnNode {
  const properties = n.properties?.map((p) => ({
    name: p.name,
    value: 'remove' in p ? null : propertyValueBytes(p),
  }));
  const rest = properties ? { properties } : {};
  if ('path' in n) return { path: n.path, ...rest };
  const phandle = parsePhandle(n.phandle);
  if (phandle === null) throw badRequest('Bad phandle', `${JSON.stringify(n.phandle)} is not a u32`);
  return { phandle, ...rest };
}

export const prrnRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/prrn',
    {
      schema: {
        tags: ['migrations'],
        summary: 'Deliver a PRRN event: firmware reassigned the resources of the nodes it names',
        description:
          "Kernel action as task rtasd: a Platform Resource Reassignment Notification, no migration. The kernel handles it as its prrnEvents switch says (docs/kernel-model.md, K-PRRN): 4.16 to 5.0 run pseries_devicetree_update with the negated scope over firmware's list of the named nodes (each an update entry, with the old loop's prrn_update_node lookup at scope -2); 5.4 and 5.8 drop it (topology updates are off by default); 5.10 and later log that they ignored it. A node named by path must be attached and have a phandle, else 422 and nothing runs. Refused with 507 when the new values do not fit in the memory budget.",
        params: Type.Object({ lpar: LparId }),
        body: PrrnBody,
        response: {
          200: PrrnDoc,
          422: Type.Ref('Problem'),
          507: Type.Ref('Problem'),
          ...problemResponses,
        },
      },
    },
    async (req) => {
      const lpar = req.lpar;
      const nodes = req.body.nodes.map(toPrrnNode);
      const event = await lpar.exclusive(() => {
        // The new values are what a handled event may add, charged as a migration's updates are.
        if (lpar.k.profile.prrnEvents === 'update')
          app.registry.assertMemoryFor(
            migrationGrowthBytes(
              nodes.map((n) => ({ action: 'update', phandle: 0, properties: n.properties })),
            ),
            `a PRRN on ${lpar.config.id} (${nodes.length} nodes)`,
          );
        return lpar.prrn(
          {
            nodes,
            ...(req.body.scope !== undefined ? { scope: req.body.scope } : {}),
            faults: req.body.faults ?? [],
          },
          () => app.clock.now(),
          () => app.clock.ms(),
        );
      });
      req.log.info({ lpar: lpar.config.id, prrn: event.id, handled: event.handled }, 'prrn');
      return event;
    },
  );
};
