import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LparError } from '../../lpar/errors.ts';
import { Ref } from '../schemas/common.ts';
import { Health, Readiness } from '../schemas/health.ts';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        description: 'Inspection (no side effects). Needs no token.',
        security: [],
        response: { 200: Ref(Health) },
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
          200: Ref(Readiness),
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
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
