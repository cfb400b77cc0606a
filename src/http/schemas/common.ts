// Schemas used across resources. The client imports these too, so request and response shapes have
// one definition.

import { type TProperties, type TSchema, Type } from '@sinclair/typebox';

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    requestId: Type.Optional(Type.String()),
    errno: Type.Optional(
      Type.String({ description: 'for ofdt writes: the errno write(2) returned, e.g. EBUSY' }),
    ),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const problemResponses = {
  400: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
};

/** A string enum with one clear error message (a union of literals gives one per member). */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

/** A raw request body (bytes as sent): no type for ajv to check, the media type for OpenAPI 3.1. */
export const RawBody = (description: string) =>
  Type.Unsafe<Buffer>({ contentMediaType: 'application/octet-stream', description });

export const Items = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item) });

/** Items per page when `limit` is not given, and the most a page may ask for. */
export const PAGE_LIMIT_DEFAULT = 500;
export const PAGE_LIMIT_MAX = 5000;

/** An opaque page cursor: the `next` of the page before (base64url). */
export const Cursor = Type.String({
  minLength: 1,
  maxLength: 4096,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'opaque: the `next` of the previous page; resumes after its last item',
});

/** `limit` and `cursor`, for the querystring of a paged listing. */
export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: PAGE_LIMIT_MAX,
      default: PAGE_LIMIT_DEFAULT,
      description: `items per page (at most ${PAGE_LIMIT_MAX})`,
    }),
  ),
  cursor: Type.Optional(Cursor),
};

export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'the cursor of the next page; null on the last page',
});

/** One page of a listing: its items and the cursor of the next page (null on the last). */
export const Page = <T extends TSchema, P extends TProperties = Record<never, never>>(item: T, extra?: P) =>
  Type.Object({ items: Type.Array(item), next: NextCursor, ...(extra ?? ({} as P)) });

/** An open object: documented fields plus whatever the model adds, serialised as is. */
export const Open = <T extends TProperties>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });

export const LparId = Type.String({
  pattern: '^[A-Za-z0-9._-]{1,64}$',
  description: 'LPAR id (lpar-1) or name',
});
export const LparParams = Type.Object({ lpar: LparId });

export const PHANDLE_PATTERN = '^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$';
export const PhandleString = Type.String({ pattern: PHANDLE_PATTERN, description: 'decimal or 0x-hex u32' });
export const Phandle = Type.Union([Type.Integer({ minimum: 0, maximum: 0xffffffff }), PhandleString]);

export const Address = Type.String({ pattern: '^c[0-9a-f]{15}$', description: 'simulated kernel address' });
export const OfPath = Type.String({
  minLength: 1,
  maxLength: 4096,
  pattern: '^/',
  description: 'absolute device-tree path',
});

const ByPath = Type.Object({ path: OfPath }, { additionalProperties: false });
const ByAddress = Type.Object({ address: Address }, { additionalProperties: false });

/** A node named without a lookup: what a put names (a put by phandle would be a get first). */
export const InspectedNodeRef = Type.Union([ByPath, ByAddress], {
  description: 'by path (found without a reference) or by address',
});

export const NodeRef = Type.Union(
  [ByPath, ByAddress, Type.Object({ phandle: Phandle }, { additionalProperties: false })],
  {
    description:
      'path and address inspect; phandle looks the node up as kernel code does (cache side effects)',
  },
);

export const Holder = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'who holds the reference (printable, no spaces); also the task name the operation runs as',
});

/** Parses a phandle given as a number or a decimal / 0x-hex string; null when it is not a u32. */
export function parsePhandle(v: number | string): number | null {
  const n =
    typeof v === 'number' ? v : /^0[xX]/.test(v) ? Number.parseInt(v.slice(2), 16) : Number.parseInt(v, 10);
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : null;
}
