// 405 Method Not Allowed with `Allow` (RFC 9110 §15.5.6) for a URL that some route serves with
// another method; fastify's router alone answers 404 for both. Every route's URL pattern is kept as
// it is registered (onRoute) and only a request that found no route is matched against them, so this
// costs nothing on the routes themselves.

import type { FastifyInstance } from 'fastify';

interface RoutePattern {
  readonly re: RegExp;
  readonly methods: Set<string>;
}

/** A fastify URL pattern (`/v1/lpars/:lpar/sys/*`) as a regular expression over a request path. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) =>
      part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}/?$`);
}

export function registerMethodNotAllowed(app: FastifyInstance): void {
  const patterns = new Map<string, RoutePattern>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let p = patterns.get(route.url);
    if (!p) {
      p = { re: patternOf(route.url), methods: new Set() };
      patterns.set(route.url, p);
    }
    for (const m of methods) p.methods.add(m.toUpperCase());
  });
  app.decorate('allowedMethods', (path: string): string[] => {
    const allowed = new Set<string>();
    for (const p of patterns.values()) if (p.re.test(path)) for (const m of p.methods) allowed.add(m);
    return [...allowed].sort();
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The methods some route serves `path` with (empty: no route has it). */
    allowedMethods: (path: string) => string[];
  }
}
