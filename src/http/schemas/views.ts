// The emulated /sys and /proc/device-tree: an entry's metadata, and a directory's page of entries.

import { Type } from '@sinclair/typebox';
import { Closed, NextCursor, StringEnum } from './common.ts';

const entry = {
  name: Type.String(),
  type: StringEnum(['dir', 'file', 'link'] as const),
  size: Type.Integer({ description: 'bytes (0 for a directory; a link: its target length)' }),
  mode: Type.String({ description: 'octal, e.g. 0755' }),
  target: Type.Optional(Type.String({ description: 'a link: where it points' })),
  broken: Type.Optional(Type.Boolean({ description: 'a link: its target does not exist' })),
};

export const ViewEntry = Closed(
  {
    path: Type.String({ description: 'the entry, under /sys or /proc/device-tree' }),
    ...entry,
    items: Type.Optional(
      Type.Array(Closed(entry), { description: 'a directory: a page of its entries, sorted by name' }),
    ),
    next: Type.Optional(NextCursor),
  },
  {
    $id: 'ViewEntry',
    description: "An entry's metadata; a directory's also with a page of its entries and the next cursor",
  },
);
