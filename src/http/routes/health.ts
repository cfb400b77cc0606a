import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { lparCounts } from '../../lpar/documents.ts';
import { LparError } from '../../lpar/errors.ts';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        description: 'Inspection (no side effects). Needs no token.',
        security: [],
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
        summary: 'Readiness: the registry answers, with the memory budget and its use',
        security: [],
        description:
          'Inspection (no side effects). Needs no token. 503 once the durable journal could not be written (the instance then takes no more changes). `memory.usedBytes` is what the LPARs held are charged plus what creates in progress reserved (`reservedBytes`, `booting` of them); creates, uploads and growth that would take it past `budgetBytes` (LPARSIM_MEMORY_BUDGET_MB) answer 507. `heapUsedBytes` is the process heap for comparison.',
        response: {
          200: Type.Object({
            status: Type.Literal('ready'),
            lpars: Type.Integer(),
            memory: Type.Object({
              budgetBytes: Type.Union([Type.Integer(), Type.Null()]),
              usedBytes: Type.Integer(),
              reservedBytes: Type.Integer(),
              booting: Type.Integer(),
              heapUsedBytes: Type.Integer(),
            }),
          }),
          503: Type.Ref('Problem'),
        },
      },
    },
    async () => {
      const broken = app.journalBroken();
      if (broken)
        throw new LparError(
          'unavailable',
          'Journal unavailable',
          `the durable journal could not be written: ${broken}`,
        );
      const m = app.registry.memory();
      return {
        status: 'ready' as const,
        lpars: app.registry.lpars.size,
        memory: {
          budgetBytes: m.budgetBytes,
          usedBytes: Math.ceil(m.usedBytes),
          reservedBytes: Math.ceil(m.reservedBytes),
          booting: m.booting,
          heapUsedBytes: process.memoryUsage().heapUsed,
        },
      };
    },
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
      const m = app.registry.memory();
      const lines = [
        '# HELP lparsim_lpars LPARs held by this instance',
        '# TYPE lparsim_lpars gauge',
        `lparsim_lpars ${app.registry.lpars.size}`,
        '# HELP lparsim_lpars_booting Creates in progress (not visible yet)',
        '# TYPE lparsim_lpars_booting gauge',
        `lparsim_lpars_booting ${m.booting}`,
        '# HELP lparsim_memory_budget_bytes The memory budget (LPARSIM_MEMORY_BUDGET_MB); absent when unlimited',
        '# TYPE lparsim_memory_budget_bytes gauge',
        ...(m.budgetBytes === null ? [] : [`lparsim_memory_budget_bytes ${m.budgetBytes}`]),
        '# HELP lparsim_memory_used_bytes Bytes charged to the LPARs held plus reserved by creates in progress',
        '# TYPE lparsim_memory_used_bytes gauge',
        `lparsim_memory_used_bytes ${Math.ceil(m.usedBytes)}`,
        '# HELP lparsim_memory_reserved_bytes Bytes reserved by creates in progress',
        '# TYPE lparsim_memory_reserved_bytes gauge',
        `lparsim_memory_reserved_bytes ${Math.ceil(m.reservedBytes)}`,
        '# HELP lparsim_heap_used_bytes V8 heap in use by the process (for comparison with the charges)',
        '# TYPE lparsim_heap_used_bytes gauge',
        `lparsim_heap_used_bytes ${process.memoryUsage().heapUsed}`,
        '# HELP lparsim_lpar_memory_bytes Bytes charged to each LPAR',
        '# TYPE lparsim_lpar_memory_bytes gauge',
      ];
      for (const lpar of app.registry.lpars.values())
        lines.push(
          `lparsim_lpar_memory_bytes{lpar="${lpar.config.id}",kernel="${lpar.config.kernel.name}"} ${Math.ceil(app.registry.lparBytes(lpar))}`,
        );
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
