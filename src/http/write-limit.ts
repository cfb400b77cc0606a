// The body limit of a write the kernel model parses in one piece (an ofdt write, a DLPAR command, an
// overlay blob): LPARSIM_MAX_OFDT_WRITE_BYTES, smaller than the service's body limit that DTB uploads
// need (a 16 MiB write costs tens of milliseconds, a 96 MiB one several hundred), or that body limit
// when it is the smaller. The 413 names the variable that set it (problem.ts).

import type { Config } from '../config.ts';

export function oneWriteLimit(config: Config): {
  bodyLimit: number;
  config: { bodyLimitVariable: 'LPARSIM_MAX_OFDT_WRITE_BYTES' | 'LPARSIM_BODY_LIMIT_BYTES' };
} {
  const { LPARSIM_MAX_OFDT_WRITE_BYTES, LPARSIM_BODY_LIMIT_BYTES } = config;
  return {
    bodyLimit: Math.min(LPARSIM_MAX_OFDT_WRITE_BYTES, LPARSIM_BODY_LIMIT_BYTES),
    config: {
      bodyLimitVariable:
        LPARSIM_MAX_OFDT_WRITE_BYTES <= LPARSIM_BODY_LIMIT_BYTES
          ? 'LPARSIM_MAX_OFDT_WRITE_BYTES'
          : 'LPARSIM_BODY_LIMIT_BYTES',
    },
  };
}
