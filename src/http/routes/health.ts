import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { lparCounts } from '../../lpar/documents.ts';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        description: 'Inspection (no side effects).',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: the registry answers',
        description: 'Inspection (no side effects).',
        response: { 200: Type.Object({ status: Type.Literal('ready'), lpars: Type.Integer() }) },
      },
    },
    async () => ({ status: 'ready' as const, lpars: app.registry.lpars.size }),
  );
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics',
        description:
          'Inspection (no side effects): per-LPAR gauges and counters read from the model; a scrape changes no count it reports.',
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_req, reply) => {
      const lines = [
        '# HELP lparsim_lpars LPARs held by this instance',
        '# TYPE lparsim_lpars gauge',
        `lparsim_lpars ${app.registry.lpars.size}`,
      ];
      const series: Array<[string, string, (c: ReturnType<typeof lparCounts>) => number]> = [
        ['lparsim_nodes', 'Nodes ever allocated, by state', () => 0],
        ['lparsim_use_after_free_total', 'Use-after-free accesses', (c) => c.useAfterFree],
        ['lparsim_warnings_total', 'Kernel WARNING blocks', (c) => c.warnings],
        ['lparsim_sysfs_renames_total', 'safe_name renames', (c) => c.sysfsRenames],
      ];
      for (const [name, help, pick] of series) {
        lines.push(
          `# HELP ${name} ${help}`,
          `# TYPE ${name} ${name.endsWith('_total') ? 'counter' : 'gauge'}`,
        );
        for (const lpar of app.registry.lpars.values()) {
          const c = lparCounts(lpar);
          const labels = `lpar="${lpar.config.id}",kernel="${lpar.config.kernel.name}"`;
          if (name === 'lparsim_nodes') {
            for (const state of ['attached', 'detached', 'released', 'freed', 'orphaned'] as const)
              lines.push(`${name}{${labels},state="${state}"} ${c[state]}`);
          } else lines.push(`${name}{${labels}} ${pick(c)}`);
        }
      }
      return reply.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
    },
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
