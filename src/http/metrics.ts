// GET /metrics from prom-client (issue 12, point 8): the process's own metrics (CPU, memory, event
// loop, GC), a request-duration histogram by route pattern and status, and the model's series read
// from the registry on each scrape. Per-LPAR series carry `lpar` and `kernel` labels for at most
// LPARSIM_METRICS_MAX_LPARS LPARs (by id order); the others are summed under lpar="_other", so the
// number of series stays bounded however many LPARs a test farm creates. A scrape reads counts the
// model keeps; it runs no kernel code and changes nothing it reports.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { lparCounts } from '../lpar/documents.ts';
import type { Lpar } from '../lpar/lpar.ts';

const NODE_STATES = ['attached', 'detached', 'released', 'freed', 'orphaned'] as const;
type Counts = ReturnType<typeof lparCounts>;
const OTHER = '_other';

/** The LPARs that get their own labels, and the rest (summed). */
function split(app: FastifyInstance): { own: Lpar[]; rest: Lpar[] } {
  const all = [...app.registry.lpars.values()];
  const max = app.lparsimConfig.LPARSIM_METRICS_MAX_LPARS;
  return { own: all.slice(0, max), rest: all.slice(max) };
}

export function registerMetrics(app: FastifyInstance): void {
  const register = new Registry();
  collectDefaultMetrics({ register });

  const duration = new Histogram({
    name: 'lparsim_http_request_duration_seconds',
    help: 'Time from request to response, by method, route pattern and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [register],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  const gauge = (name: string, help: string, value: () => number | null) =>
    new Gauge({
      name,
      help,
      registers: [register],
      collect() {
        const v = value();
        if (v === null) this.reset();
        else this.set(v);
      },
    });
  gauge('lparsim_lpars', 'LPARs held by this instance', () => app.registry.lpars.size);
  gauge(
    'lparsim_lpars_booting',
    'Creates in progress (not visible yet)',
    () => app.registry.memory().booting,
  );
  gauge(
    'lparsim_memory_budget_bytes',
    'The memory budget (LPARSIM_MEMORY_BUDGET_MB); absent when unlimited',
    () => app.registry.memory().budgetBytes,
  );
  gauge(
    'lparsim_memory_used_bytes',
    'Bytes charged to the LPARs held plus reserved by creates in progress',
    () => Math.ceil(app.registry.memory().usedBytes),
  );
  gauge('lparsim_memory_reserved_bytes', 'Bytes reserved by creates in progress', () =>
    Math.ceil(app.registry.memory().reservedBytes),
  );

  // Per LPAR: set from the model on each scrape, the LPARs past the label limit summed as _other.
  const perLpar = <L extends string>(
    metric: Gauge<L> | Counter<L>,
    each: (lpar: Lpar, counts: Counts, add: (labels: Record<string, string>, v: number) => void) => void,
  ) => {
    const { own, rest } = split(app);
    const values = new Map<string, { labels: Record<string, string>; v: number }>();
    const add = (labels: Record<string, string>, v: number) => {
      const key = JSON.stringify(labels);
      const e = values.get(key);
      if (e) e.v += v;
      else values.set(key, { labels, v });
    };
    for (const lpar of own)
      each(lpar, lparCounts(lpar), (labels, v) =>
        add({ lpar: lpar.config.id, kernel: lpar.config.kernel.name, ...labels }, v),
      );
    for (const lpar of rest)
      each(lpar, lparCounts(lpar), (labels, v) => add({ lpar: OTHER, kernel: OTHER, ...labels }, v));
    metric.reset();
    for (const { labels, v } of values.values())
      if (metric instanceof Gauge) metric.set(labels as never, v);
      else metric.inc(labels as never, v);
  };
  new Gauge({
    name: 'lparsim_lpar_memory_bytes',
    help: 'Bytes charged to each LPAR',
    labelNames: ['lpar', 'kernel'] as const,
    registers: [register],
    collect() {
      perLpar(this, (lpar, _c, add) => add({}, Math.ceil(app.registry.lparBytes(lpar))));
    },
  });
  new Gauge({
    name: 'lparsim_nodes',
    help: 'Nodes ever allocated, by state',
    labelNames: ['lpar', 'kernel', 'state'] as const,
    registers: [register],
    collect() {
      perLpar(this, (_l, c, add) => {
        for (const state of NODE_STATES) add({ state }, c[state]);
      });
    },
  });
  for (const [name, help, pick] of [
    ['lparsim_use_after_free_total', 'Use-after-free accesses', (c: Counts) => c.useAfterFree],
    ['lparsim_warnings_total', 'Kernel WARNING blocks', (c: Counts) => c.warnings],
    ['lparsim_sysfs_renames_total', 'safe_name renames', (c: Counts) => c.sysfsRenames],
  ] as const)
    new Counter({
      name,
      help,
      labelNames: ['lpar', 'kernel'] as const,
      registers: [register],
      collect() {
        perLpar(this, (_l, c, add) => add({}, pick(c)));
      },
    });

  app.decorate('metricsRegistry', register);
}

/** GET /metrics (registered with the other routes, so the OpenAPI document has it). */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  const register = app.metricsRegistry;
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics',
        description:
          'Inspection (no side effects). The process (CPU, memory, event loop, GC: prom-client defaults), lparsim_http_request_duration_seconds by method, route pattern and status, and the model: LPARs, the memory budget and its use, and per LPAR its charge, nodes by state, use-after-free accesses, WARNING blocks and sysfs renames. Per-LPAR series are labelled for the first LPARSIM_METRICS_MAX_LPARS LPARs; the others are summed under lpar="_other".',
        produces: [register.contentType.split(';')[0]!],
        response: { 200: Type.String() },
      },
    },
    async (_req, reply) => reply.type(register.contentType).send(await register.metrics()),
  );
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The prom-client registry GET /metrics serves. */
    metricsRegistry: Registry;
  }
}
