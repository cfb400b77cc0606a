// A creation request both ways: the registry's CreateLparInput from a JSON create body (POST
// /v1/lpars, PUT /v1/lpars/{name}, the first line of an imported history), and the JSON body of an
// LPAR's creation request (GET …/journal). Every create, from-dtb uploads included, is expressible
// as a JSON body (a blob as base64).

import type { Static } from '@sinclair/typebox';
import { badRequest } from '../lpar/errors.ts';
import type { CreateLparInput } from '../lpar/registry.ts';
import type { CreateLparBody } from './schemas/lpars.ts';

export type CreateBody = Static<typeof CreateLparBody>;

export function inputFromBody(b: CreateBody): CreateLparInput {
  let dtb: Uint8Array | undefined;
  if (b.dtb !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b.dtb)) throw badRequest('Bad dtb', 'dtb must be base64');
    dtb = Buffer.from(b.dtb, 'base64'); // a buffer of its own: the registry keeps it (dtbOwned)
  }
  return {
    ...(b.name !== undefined ? { name: b.name } : {}),
    profile: b.profile ?? 'power9',
    kernel: b.kernel,
    ...(b.phandleScheme ? { phandleScheme: b.phandleScheme } : {}),
    ...(b.seed !== undefined ? { seed: b.seed } : {}),
    ...(b.system ? { system: b.system } : {}),
    ...(b.switches ? { switches: b.switches } : {}),
    ...(b.options ? { options: b.options } : {}),
    ...(dtb ? { dtb, dtbOwned: true } : {}),
  };
}

/** The JSON body that creates `input` again (without its name: whoever replays it names it). */
export function bodyFromInput(input: CreateLparInput): CreateBody {
  return {
    profile: input.profile as CreateBody['profile'],
    kernel: input.kernel as CreateBody['kernel'],
    ...(input.phandleScheme ? { phandleScheme: input.phandleScheme } : {}),
    ...(input.seed !== undefined ? { seed: input.seed } : {}),
    ...(input.system ? { system: input.system } : {}),
    ...(input.switches ? { switches: input.switches as CreateBody['switches'] } : {}),
    ...(input.options ? { options: input.options as CreateBody['options'] } : {}),
    ...(input.dtb ? { dtb: Buffer.from(input.dtb).toString('base64') } : {}),
  };
}

/** A creation request as comparable text: keys sorted at every level, blobs as base64. */
export function canonical(input: CreateLparInput): string {
  const sorted = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  // Who it was born as is not part of what was asked for.
  const { identity: _identity, asRecorded: _asRecorded, dtbOwned: _dtbOwned, ...asked } = input;
  return JSON.stringify(sorted(asked));
}
