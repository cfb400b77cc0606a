// Every schema the routes reference by `$id`: registered once on the root instance (src/app.ts), so
// fastify serialises with them and the OpenAPI document shows each as a named component.

import type { TSchema } from '@sinclair/typebox';
import { Problem } from './common.ts';
import { DlparWriteDoc } from './dlpar.ts';
import { EVENT_SCHEMAS, LparEventSchema } from './events.ts';
import { Health, Readiness } from './health.ts';
import {
  CacheSlot,
  DmesgPage,
  DmesgRecord,
  Invariants,
  PhandleCacheCounts,
  PhandleCacheDoc,
  VioDevice,
  VioDriver,
  VioDriverList,
  VioList,
} from './kernel.ts';
import {
  Counts,
  DeletedLpars,
  KernelProfileDoc,
  LparDoc,
  LparList,
  ProfilesDoc,
  SystemDoc,
  SystemList,
  TreeProfileDoc,
} from './lpars.ts';
import { MigrationDoc, MigrationList, MigrationReport } from './migrations.ts';
import {
  LeakedNode,
  LeaksPage,
  LookupDoc,
  NodeDoc,
  NodeSummary,
  NodeSummaryPage,
  OfdtDoc,
  RefcountsPage,
  RefDoc,
  RefList,
} from './nodes.ts';
import { OverlayApplied, OverlayDoc, OverlayList, OverlayRemoved } from './overlays.ts';
import { SlotWriteDoc } from './slots.ts';
import { ViewEntry } from './views.ts';

/** In an order where each schema comes after those it references. */
export const SHARED_SCHEMAS: readonly TSchema[] = [
  Problem,
  ...EVENT_SCHEMAS,
  LparEventSchema,
  Health,
  Readiness,
  KernelProfileDoc,
  TreeProfileDoc,
  ProfilesDoc,
  SystemDoc,
  SystemList,
  Counts,
  LparDoc,
  LparList,
  DeletedLpars,
  NodeDoc,
  NodeSummary,
  LeakedNode,
  NodeSummaryPage,
  RefcountsPage,
  LeaksPage,
  LookupDoc,
  RefDoc,
  RefList,
  OfdtDoc,
  CacheSlot,
  PhandleCacheCounts,
  MigrationReport,
  MigrationDoc,
  MigrationList,
  DmesgRecord,
  DmesgPage,
  PhandleCacheDoc,
  VioDevice,
  VioList,
  VioDriver,
  VioDriverList,
  Invariants,
  ViewEntry,
  OverlayDoc,
  OverlayList,
  OverlayApplied,
  OverlayRemoved,
  DlparWriteDoc,
  SlotWriteDoc,
];
