// What routes share: decorators on the fastify instance (no module globals).

import type { Config } from '../config.ts';
import type { ReplayDigests } from '../journal/digests.ts';
import type { Registry } from '../lpar/registry.ts';
import type { PathLimits } from '../lpar/views.ts';

declare module 'fastify' {
  interface FastifyInstance {
    registry: Registry;
    lparsimConfig: Config;
    pathLimits: PathLimits;
    /** The replays that digest exports and check imports, one at a time (journal/digests.ts). */
    replays: ReplayDigests;
  }
}
