import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { LparsimClient } from '../../src/client/client.ts';
import { injectTransport } from '../../src/client/transport.ts';
import { type Config, loadConfig } from '../../src/config.ts';

export async function testApp(
  env: Record<string, string> = {},
): Promise<{ app: FastifyInstance; client: LparsimClient; config: Config }> {
  const config = { ...loadConfig(env), LOG_LEVEL: 'silent' as const };
  const app = await buildApp(config);
  return { app, client: new LparsimClient(injectTransport(app)), config };
}

/** Everything a failed request must leave unchanged, as the API shows it. */
export async function fingerprint(app: FastifyInstance, lpar: string): Promise<string> {
  const parts = await Promise.all(
    [
      `/v1/lpars/${lpar}`,
      `/v1/lpars/${lpar}/refcounts`,
      `/v1/lpars/${lpar}/dmesg`,
      `/v1/lpars/${lpar}/phandle-cache`,
      `/v1/lpars/${lpar}/refs`,
      `/v1/lpars/${lpar}/migrations`,
    ].map(async (url) => (await app.inject({ url })).body),
  );
  return parts.join('\n');
}

export function problemOf(res: { headers: Record<string, unknown>; body: string; statusCode: number }) {
  if (!String(res.headers['content-type']).startsWith('application/problem+json'))
    throw new Error(`not problem+json: ${res.headers['content-type']} ${res.body}`);
  return JSON.parse(res.body) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    instance: string;
    errno?: string;
  };
}
