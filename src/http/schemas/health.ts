// The probes' documents.

import { Type } from '@sinclair/typebox';
import { Closed } from './common.ts';

export const Health = Closed({ status: Type.Literal('ok') }, { $id: 'Health' });

export const Readiness = Closed(
  {
    status: Type.Literal('ready'),
    lpars: Type.Integer(),
    memory: Closed({
      budgetBytes: Type.Union([Type.Integer(), Type.Null()]),
      usedBytes: Type.Integer(),
      reservedBytes: Type.Integer(),
      booting: Type.Integer(),
      heapUsedBytes: Type.Integer(),
    }),
  },
  { $id: 'Readiness' },
);
