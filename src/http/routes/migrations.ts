import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { badRequest, notFound } from '../../lpar/errors.ts';
import { migrate } from '../../lpar/migrations.ts';
import type { FirmwareUpdate } from '../../pseries/firmware.ts';
import { LparId, parsePhandle, problemResponses, Ref } from '../schemas/common.ts';
import {
  type FirmwareUpdateBody,
  MigrationBody,
  MigrationDoc,
  MigrationList,
} from '../schemas/migrations.ts';
import { propertyValueBytes } from '../schemas/nodes.ts';

function toFirmwareUpdate(u: Static<typeof FirmwareUpdateBody>): FirmwareUpdate {
  const phandle = parsePhandle(u.phandle);
  if (phandle === null) throw badRequest('Bad phandle', `${JSON.stringify(u.phandle)} is not a u32`);
  if (u.action === 'add' && u.drc === undefined)
    throw badRequest('Missing drc', 'an add names the connector (drc) whose subtree firmware configures');
  return {
    action: u.action,
    phandle,
    ...(u.drc !== undefined ? { drc: u.drc } : {}),
    ...(u.properties
      ? {
          properties: u.properties.map((p) => ({
            name: p.name,
            value: 'remove' in p ? null : propertyValueBytes(p),
          })),
        }
      : {}),
  };
}

export const migrationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const params = Type.Object({ lpar: LparId });
  app.post(
    '/migrations',
    {
      schema: {
        tags: ['migrations'],
        summary: 'Migrate the LPAR to another managed system (runs post_mobility_fixup as its kernel does)',
        description:
          'Kernel action: models the partition side of a live migration as task drmgr (the suspend, then post_mobility_fixup: activate-firmware, the ibm,update-nodes loop with its deletes, updates and adds, and, where the kernel has it, the cacheinfo teardown and rebuild). `dryRun` only computes the work list and changes nothing. A real migration is refused with 507 (LPARSIM_MEMORY_BUDGET_MB), before it changes anything, when what its work list may add does not fit in the memory budget.',
        params,
        body: MigrationBody,
        response: {
          201: Ref(MigrationDoc),
          409: Type.Ref('Problem'),
          422: Type.Ref('Problem'),
          507: Type.Ref('Problem'),
          ...problemResponses,
        },
      },
    },
    async (req, reply) => {
      const lpar = req.lpar;
      const destination = app.registry.system(req.body.destination);
      const updates = req.body.updates?.map(toFirmwareUpdate);
      const migration = await lpar.exclusive(() =>
        migrate(
          lpar,
          {
            destination,
            dryRun: req.body.dryRun ?? false,
            faults: req.body.faults ?? [],
            ...(updates ? { updates } : {}),
            reserve: (bytes, what) => app.registry.assertMemoryFor(bytes, what),
          },
          () => app.clock.now(),
          () => app.clock.ms(),
        ),
      );
      req.log.info(
        { lpar: lpar.config.id, migration: migration.id, to: migration.destination, state: migration.state },
        'migration',
      );
      return reply
        .code(201)
        .header('location', `/v1/lpars/${lpar.config.id}/migrations/${migration.id}`)
        .send(migration);
    },
  );
  app.get(
    '/migrations',
    {
      schema: {
        tags: ['migrations'],
        summary: "The LPAR's migrations",
        description: 'Inspection (no side effects).',
        params,
        response: { 200: Ref(MigrationList), ...problemResponses },
      },
    },
    async (req) => ({
      items: req.lpar.migrations,
    }),
  );
  app.get(
    '/migrations/:migration',
    {
      schema: {
        tags: ['migrations'],
        summary: 'One migration with its report',
        description: 'Inspection (no side effects).',
        params: Type.Object({ lpar: LparId, migration: Type.String({ pattern: '^m[0-9]{1,9}$' }) }),
        response: { 200: Ref(MigrationDoc), ...problemResponses },
      },
    },
    async (req) => {
      const m = req.lpar.migrations.find((x) => x.id === req.params.migration);
      if (!m) throw notFound('Migration', `no migration ${req.params.migration} on ${req.params.lpar}`);
      return m;
    },
  );
};
