// Domain errors the service raises; src/http maps each to problem+json with its status.

import { errnoName } from '../kernel/errno.ts';

export type ProblemKind =
  | 'bad-request'
  | 'not-found'
  | 'conflict'
  | 'limit'
  | 'ofdt-errno'
  | 'unprocessable'
  | 'task-killed'
  | 'panicked'
  | 'insufficient-storage'
  | 'unsupported-media-type'
  | 'unavailable';

export class LparError extends Error {
  readonly kind: ProblemKind;
  readonly title: string;
  readonly extra: Readonly<Record<string, unknown>>;
  constructor(kind: ProblemKind, title: string, detail: string, extra: Record<string, unknown> = {}) {
    super(detail);
    this.kind = kind;
    this.title = title;
    this.extra = extra;
  }
}

export const notFound = (what: string, detail: string) =>
  new LparError('not-found', `${what} not found`, detail);
export const badRequest = (title: string, detail: string) => new LparError('bad-request', title, detail);
export const conflict = (title: string, detail: string) => new LparError('conflict', title, detail);
export const limitExceeded = (detail: string) => new LparError('limit', 'Limit exceeded', detail);
/** 507: the memory budget (LPARSIM_MEMORY_BUDGET_MB) has no room for what was asked; nothing changed. */
export const insufficientStorage = (detail: string, extra: Record<string, unknown> = {}) =>
  new LparError('insufficient-storage', 'Insufficient storage', detail, extra);

/**
 * A kernel call's negative errno as the caller's problem (overlays, DLPAR writes): the status the API
 * gives that errno, the errno by name and number, and the lines the call printed (they stay in dmesg).
 */
export function kernelRefused(r: {
  readonly lpar: string;
  /** What was asked, for the title: `overlay apply`, `dlpar cpu add`. */
  readonly what: string;
  /** The kernel function or system call that returned it, for the detail. */
  readonly call: string;
  readonly rc: number;
  readonly dmesg: readonly string[];
  readonly status: 404 | 409 | 422;
}): LparError {
  const errno = errnoName(r.rc);
  const last = r.dmesg.at(-1);
  return new LparError(
    r.status === 404 ? 'not-found' : r.status === 409 ? 'conflict' : 'unprocessable',
    `${r.what}: ${errno}`,
    `${r.call} returned ${r.rc} (-${errno}) in LPAR ${r.lpar}${last ? `: ${last}` : ''}`,
    { errno, errnoValue: -r.rc, rc: r.rc, dmesg: [...r.dmesg], status: r.status },
  );
}
