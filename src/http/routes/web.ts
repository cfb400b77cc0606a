// The web view (issue 13): `/` and the static files of src/web, and the three vendored view-library
// files it imports, served from node_modules (no CDN: the page must work on a closed network). None of
// these is an API operation, so every route is hidden from the OpenAPI document, and none needs the
// token: the files hold no LPAR data, and a browser cannot send a bearer header on a navigation. The
// page asks for the token and sends it on its own API calls.

import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));
const MODULES = fileURLToPath(new URL('../../../node_modules/', import.meta.url));

/** /ui/vendor/<name> -> its file in node_modules; nothing else there is served. */
const VENDOR: Readonly<Record<string, string>> = {
  'preact.mjs': join(MODULES, 'preact/dist/preact.mjs'),
  'hooks.mjs': join(MODULES, 'preact/hooks/dist/hooks.mjs'),
  'htm.mjs': join(MODULES, 'htm/dist/htm.module.js'),
};

export async function webRoutes(app: FastifyInstance): Promise<void> {
  // Every route of this plugin: no lock, no journal, no token (plugins/auth.ts reads withoutToken).
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), lookOnly: true, withoutToken: true };
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: '/ui/',
    index: false,
    // One route per file found at start (src/web does not change while the service runs), so an
    // unknown file has no route and is the app's 404 problem, not a 405 for a wildcard's GET.
    wildcard: false,
    // The page is small and changes with the service: revalidate with the ETag on every load.
    cacheControl: true,
    maxAge: 0,
  });
  app.get('/', async (_req, reply) => reply.sendFile('index.html'));
  for (const [name, path] of Object.entries(VENDOR))
    app.get(`/ui/vendor/${name}`, async (_req, reply) => reply.sendFile(basename(path), dirname(path)));
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without the bearer token even when LPARSIM_TOKEN is set (the web view's files). */
    withoutToken?: boolean;
  }
}
