// Configuration from the environment: a TypeBox schema with defaults, validated at start with a message
// that names the bad variable. Every limit the service enforces is here and in the README.

import { getHeapStatistics } from 'node:v8';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** The share of the V8 heap limit the default memory budget takes (the rest: transient work, GC room). */
export const DEFAULT_BUDGET_SHARE = 0.75;

/**
 * The default LPARSIM_MEMORY_BUDGET_MB: 75% of this process's V8 heap limit (`--max-old-space-size`;
 * `npm start` sets 16384, so about 12 GiB), in MiB.
 */
export function defaultMemoryBudgetMb(): number {
  return Math.max(
    16,
    Math.floor((getHeapStatistics().heap_size_limit * DEFAULT_BUDGET_SHARE) / (1024 * 1024)),
  );
}

/**
 * The default LPARSIM_BODY_LIMIT_BYTES: 96 MiB, above lparsim's own tree.dtb of a maximal tree (a
 * 250,000-node power9 tree with 8192 GiB of LMBs exports 60.7 MB; an uploaded tree without `name`
 * properties gains one per node, E13), so any exported tree can be uploaded again.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 96 * 1024 * 1024;

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port to listen on' }),
  HOST: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'Address to listen on: loopback unless asked (the container image sets 0.0.0.0)',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  LPARSIM_DATA_DIR: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Directory of the durable journal (journal.sqlite): every request that changes a model is written there before it is answered, and replayed at start. Unset: state is in memory',
    }),
  ),
  LPARSIM_TOKEN: Type.Optional(
    Type.String({
      minLength: 16,
      maxLength: 512,
      pattern: '^[\\x21-\\x7e]+$',
      description:
        'When set, every route but /healthz and /readyz needs Authorization: Bearer <token> (401 otherwise); at least 16 printable characters',
    }),
  ),
  LPARSIM_MAX_LPARS: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 64,
    description: 'LPARs one instance holds at once',
  }),
  LPARSIM_MAX_NODES_PER_LPAR: Type.Integer({
    minimum: 16,
    maximum: 5_000_000,
    default: 250_000,
    description: 'Device-tree nodes one LPAR may boot with',
  }),
  LPARSIM_BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 1 << 30,
    default: DEFAULT_BODY_LIMIT_BYTES,
    description:
      'Largest request body (DTB uploads, ofdt writes); the default takes any tree.dtb lparsim exports',
  }),
  LPARSIM_MAX_OFDT_WRITE_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 1 << 30,
    default: 16 * 1024 * 1024,
    description: 'Largest ofdt write (raw, or the body of a JSON edit); LPARSIM_BODY_LIMIT_BYTES caps it too',
  }),
  LPARSIM_MEMORY_BUDGET_MB: Type.Integer({
    minimum: 16,
    maximum: 1 << 24,
    default: defaultMemoryBudgetMb(),
    description:
      'Memory the LPARs may be charged, in MiB (creates, uploads and growth beyond it answer 507); default 75% of the V8 heap limit',
  }),
  LPARSIM_MAX_EVENTS_PER_LPAR: Type.Integer({
    minimum: 100,
    maximum: 10_000_000,
    default: 50_000,
    description: 'Events kept per LPAR for replay (Last-Event-ID)',
  }),
  LPARSIM_MAX_DMESG_LINES: Type.Integer({
    minimum: 100,
    maximum: 10_000_000,
    default: 100_000,
    description: 'Kernel log lines kept per LPAR (a ring buffer, as log_buf)',
  }),
  LPARSIM_MAX_MIGRATIONS_KEPT: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 1000,
    description: 'Migration reports kept per LPAR (the oldest go first)',
  }),
  LPARSIM_MAX_HISTORY_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 1 << 30,
    default: 64 * 1024 * 1024,
    description:
      'Bytes of request history kept per LPAR for GET …/journal (bodies included); beyond it the LPAR goes on but its history can no longer be exported',
  }),
  LPARSIM_REPLAY_WORKER_MB: Type.Integer({
    minimum: 64,
    maximum: 1 << 20,
    default: 4096,
    description:
      'V8 heap, in MiB, of the worker thread that replays a history to digest it (journal export and import, one at a time); a history that needs more is refused with 507',
  }),
  LPARSIM_METRICS_MAX_LPARS: Type.Integer({
    minimum: 0,
    maximum: 100_000,
    default: 100,
    description:
      'LPARs whose /metrics series carry their own lpar label; the series of the others are summed under lpar="_other"',
  }),
  LPARSIM_MAX_TREE_DEPTH: Type.Integer({
    minimum: 4,
    maximum: 1024,
    default: 64,
    description: 'Deepest node nesting accepted from an uploaded DTB',
  }),
  LPARSIM_MAX_PATH_COMPONENTS: Type.Integer({
    minimum: 4,
    maximum: 1024,
    default: 64,
    description: 'Components in a /sys or /proc view path',
  }),
  LPARSIM_MAX_NAME_BYTES: Type.Integer({
    minimum: 31,
    maximum: 4096,
    default: 255,
    description: 'Bytes in one path component or holder name',
  }),
  LPARSIM_SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 10_000,
    description:
      'How long SIGTERM/SIGINT lets in-flight requests and downloads finish; connections still open then are reset',
  }),
});

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Reads the known variables from `env`, applies defaults, and validates; throws ConfigError naming the variable. */
/** Variables whose values are never printed. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(['LPARSIM_TOKEN']);

export function loadConfig(env: Record<string, string | undefined> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const converted = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw)) as Record<string, unknown>;
  const first = Value.Errors(ConfigSchema, converted).First();
  if (first) {
    const variable = first.path.replace(/^\//, '') || 'configuration';
    // A secret is never echoed, not even a malformed one.
    const shown = SECRET_VARIABLES.has(variable) ? '(hidden)' : JSON.stringify(env[variable] ?? '');
    throw new ConfigError(`invalid ${variable}=${shown}: ${first.message}`);
  }
  return converted as Config;
}
