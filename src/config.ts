// Configuration from the environment: a TypeBox schema with defaults, validated at start with a message
// that names the bad variable. Every limit the service enforces is here and in the README.

import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port to listen on' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address to listen on' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
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
    default: 16 * 1024 * 1024,
    description: 'Largest request body (DTB uploads, ofdt writes)',
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
    description: 'How long shutdown waits for in-flight requests',
  }),
});

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Reads the known variables from `env`, applies defaults, and validates; throws ConfigError naming the variable. */
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
    throw new ConfigError(`invalid ${variable}=${JSON.stringify(env[variable] ?? '')}: ${first.message}`);
  }
  return converted as Config;
}
