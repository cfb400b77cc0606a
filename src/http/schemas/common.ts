// Schemas used across resources. The client imports these too, so request and response shapes have
// one definition.

import { type ObjectOptions, type Static, type TProperties, type TSchema, Type } from '@sinclair/typebox';

const ValidationError = Type.Object(
  {
    where: Type.String({ description: 'body, querystring, params or headers' }),
    path: Type.String({ description: 'a JSON pointer into that part' }),
    message: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

// RFC 9457 lets a problem carry extension members, so the object stays extensible; the members this
// service sends are named here with their types, so a client can rely on them.
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    requestId: Type.Optional(Type.String()),
    errno: Type.Optional(
      Type.String({
        description: 'for ofdt writes and overlays: the errno the kernel returned, e.g. EBUSY',
      }),
    ),
    errnoValue: Type.Optional(
      Type.Integer({ description: "for ofdt writes and overlays: the errno's number" }),
    ),
    rc: Type.Optional(
      Type.Integer({ description: 'for overlays: what of_overlay_fdt_apply or of_overlay_remove returned' }),
    ),
    dmesg: Type.Optional(
      Type.Array(Type.String(), {
        description: 'for overlays: the kernel lines the refused call printed (they stay in dmesg)',
      }),
    ),
    errors: Type.Optional(
      Type.Array(ValidationError, { description: 'for a request that failed validation: each error' }),
    ),
    allow: Type.Optional(
      Type.Array(Type.String(), { description: 'for 405: the methods the URL answers (as in Allow)' }),
    ),
    signal: Type.Optional(Type.String({ description: 'task-killed: the signal that killed the task' })),
    function: Type.Optional(Type.String({ description: 'task-killed: the function that oopsed' })),
    comm: Type.Optional(Type.String({ description: 'task-killed: the task that was killed' })),
    panicked: Type.Optional(Type.Boolean({ description: 'task-killed: the partition panicked too' })),
    taint: Type.Optional(Type.Array(Type.String(), { description: 'task-killed: the taint flags set' })),
    nodes: Type.Optional(
      Type.Array(
        Type.Object(
          { path: Type.String(), uses: Type.Array(Type.String()) },
          { additionalProperties: false },
        ),
        { description: 'a migration refused: the nodes firmware would name without a phandle' },
      ),
    ),
    offset: Type.Optional(Type.Integer({ description: 'an unreadable blob: the byte offset of the error' })),
    line: Type.Optional(Type.Integer({ description: 'an unreadable history: the line of the error' })),
    version: Type.Optional(Type.String({ description: 'an incompatible history: its lparsim version' })),
    entry: Type.Optional(Type.Integer({ description: 'a diverging history: the first entry that diverges' })),
    neededBytes: Type.Optional(Type.Integer({ description: '507: what the request needs' })),
    usedBytes: Type.Optional(Type.Integer({ description: '507: what the memory budget has in use' })),
    budgetBytes: Type.Optional(Type.Integer({ description: '507: the memory budget' })),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const problemResponses = {
  400: Type.Ref('Problem'),
  404: Type.Ref('Problem'),
};

/**
 * A problem response of a route whose success is not JSON (a file, a stream): named with its own
 * media type, or the document would list the success's media type for it too.
 */
export const ProblemResponse = {
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
};

/** A string enum with one clear error message (a union of literals gives one per member). */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

/** A raw request body (bytes as sent): no type for ajv to check, the media type for OpenAPI 3.1. */
export const RawBody = (description: string) =>
  Type.Unsafe<Buffer>({ contentMediaType: 'application/octet-stream', description });

/**
 * A reference to a shared schema (registered with its `$id`) that keeps the schema's static type;
 * `options` (a description) say what it is where it is used.
 */
export const Ref = <T extends TSchema>(schema: T, options: { description?: string } = {}) =>
  Type.Unsafe<Static<T>>(Type.Ref(schema.$id!, options));

/** A closed object: exactly the members named, as the server sends them. */
export const Closed = <T extends TProperties>(props: T, options: ObjectOptions = {}) =>
  Type.Object(props, { ...options, additionalProperties: false });

export const Items = <T extends TSchema>(item: T, options: ObjectOptions = {}) =>
  Closed({ items: Type.Array(item) }, options);

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
export const Page = <T extends TSchema, P extends TProperties = Record<never, never>>(
  item: T,
  extra?: P,
  options: ObjectOptions = {},
) => Closed({ items: Type.Array(item), next: NextCursor, ...(extra ?? ({} as P)) }, options);

export const LparId = Type.String({
  pattern: '^[A-Za-z0-9._-]{1,64}$',
  description: 'LPAR id (lpar-1) or name',
});
export const LparParams = Type.Object({ lpar: LparId });

export const PHANDLE_PATTERN = '^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$';
/** A phandle as a request may give it in text (a path or query parameter): 0x-hex or decimal. */
export const PhandleString = Type.String({ pattern: PHANDLE_PATTERN, description: 'decimal or 0x-hex u32' });
/** A phandle in a request body: a u32 as a number, or as a 0x-hex or decimal string. */
export const Phandle = Type.Union([Type.Integer({ minimum: 0, maximum: 0xffffffff }), PhandleString], {
  description: 'a u32: a number, or a 0x-hex or decimal string',
});

/**
 * A phandle in a response: lowercase 0x-hex, as users type it and as the kernel prints it
 * (docs/api.md, "phandle"); 0x0 for a node without one. src/lpar/documents.ts phandleHex writes it.
 */
export const PhandleHex = Type.String({
  pattern: '^0x[0-9a-f]{1,8}$',
  description: 'a u32 in lowercase 0x-hex (0x0: the node has none)',
  examples: ['0xfffffff5'],
});

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
