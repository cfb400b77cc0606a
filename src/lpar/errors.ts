// Domain errors the service raises; src/http maps each to problem+json with its status.

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
