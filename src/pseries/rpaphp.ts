// rpaphp_check_drc_props (drivers/pci/hotplug/rpaphp_core.c, K-SLOT-3): does a node's connector, named
// by its `ibm,my-drc-index`, carry this drc name (and type) in its parent's connector lists? The lists
// are the four v1 properties (`ibm,drc-indexes`, `-names`, `-types`, `-power-domains`) or, from 5.8
// when the parent has it, `ibm,drc-info` (slot fact `drcInfo`). Earlier releases chose by
// FW_FEATURE_DRC_INFO, which they never negotiate, so they read v1 alone (note 53). Only reads: the
// kernel takes no reference here.

import { ERRNO } from '../kernel/errno.ts';
import { ofFindProperty } from '../of/base.ts';
import type { DeviceNode } from '../of/node.ts';
import { readU32 } from '../of/property.ts';
import type { OfState } from '../of/state.ts';
import { type DrcInfoCell, drcInfoCells } from './drc-info.ts';

/** drc names and types are C strings compared byte for byte: latin1 keeps each byte one character. */
const bytesDecoder = new TextDecoder('latin1');

/**
 * The strings of a counted list (`ibm,drc-names`, `ibm,drc-types`) after its count cell, each ended
 * by its NUL; an unterminated tail is left out (strcmp would read past the property).
 */
function countedStrings(v: Uint8Array): string[] {
  const parts = bytesDecoder.decode(v.subarray(4)).split('\0');
  parts.pop();
  return parts;
}

/** A parent's v1 lists as the check reads them: the position of each index's first entry. */
interface V1Lists {
  readonly firstAt: Map<number, number>;
  readonly names: string[];
  readonly types: string[];
}

function readV1Lists(parent: DeviceNode): V1Lists | null {
  const indexes = ofFindProperty(parent, 'ibm,drc-indexes')?.value;
  const names = ofFindProperty(parent, 'ibm,drc-names')?.value;
  const types = ofFindProperty(parent, 'ibm,drc-types')?.value;
  const domains = ofFindProperty(parent, 'ibm,drc-power-domains');
  if (!indexes || !names || !types || !domains || indexes.length < 4 || names.length < 4 || types.length < 4)
    return null;
  const n = readU32(indexes)!;
  const firstAt = new Map<number, number>();
  for (let i = 0; i < n && 8 + 4 * i <= indexes.length; i++) {
    const index = readU32(indexes, i + 1)!;
    if (!firstAt.has(index)) firstAt.set(index, i);
  }
  return { firstAt, names: countedStrings(names), types: countedStrings(types) };
}

/**
 * rpaphp_check_drc_props over the nodes of one request: each parent's lists are read once, so a
 * walk over many children of one parent (a /vdevice of thousands of slots, the root's cpu
 * connectors) costs the lists once, not once per child. Only reads: the kernel takes no reference.
 */
export class DrcLookup {
  private readonly v1 = new Map<DeviceNode, V1Lists | null>();
  private readonly v2 = new Map<DeviceNode, DrcInfoCell[]>();
  private readonly of: OfState;
  constructor(of: OfState) {
    this.of = of;
  }

  /**
   * rpaphp_check_drc_props(dn, drc_name, drc_type): 0 when the node's connector is `drcName` (and of
   * `drcType`, when given), else -EINVAL. A node without `ibm,my-drc-index` is not DLPAR-capable.
   */
  check(dn: DeviceNode, drcName: string, drcType: string | null): number {
    const my = ofFindProperty(dn, 'ibm,my-drc-index')?.value;
    const parent = dn.parent;
    if (!my || !parent) return -ERRNO.EINVAL;
    // of_get_property hands back a value of any length; a short one reads past it, as zeros here.
    const myIndex = readU32(Uint8Array.from({ length: 4 }, (_, i) => my[i] ?? 0))!;
    const info = this.of.k.profile.slot.drcInfo ? ofFindProperty(parent, 'ibm,drc-info')?.value : undefined;
    return info !== undefined
      ? this.checkV2(parent, info, drcName, drcType, myIndex)
      : this.checkV1(parent, drcName, drcType, myIndex);
  }

  /**
   * The v1 check: the parent must have all four lists; the entry at the index's position gives the
   * name and type. For an index the list lacks the kernel compares with the bytes past the last
   * name, outside the property: no match here (note 53).
   */
  private checkV1(parent: DeviceNode, drcName: string, drcType: string | null, myIndex: number): number {
    let lists = this.v1.get(parent);
    if (lists === undefined) {
      lists = readV1Lists(parent);
      this.v1.set(parent, lists);
    }
    const i = lists?.firstAt.get(myIndex);
    if (!lists || i === undefined) return -ERRNO.EINVAL;
    if (lists.names[i] !== drcName) return -ERRNO.EINVAL;
    if (drcType !== null && lists.types[i] !== drcType) return -ERRNO.EINVAL;
    return 0;
  }

  /**
   * The v2 check over the parent's `ibm,drc-info` (5.8+): the first entry whose range holds the index
   * names it by the prefix and `suffix start + (index - start)` as %d, the increment not divided out.
   * No entry leaves the kernel's name buffer unset: no match here (note 53).
   */
  private checkV2(
    parent: DeviceNode,
    info: Uint8Array,
    drcName: string,
    drcType: string | null,
    myIndex: number,
  ): number {
    let cells = this.v2.get(parent);
    if (cells === undefined) {
      cells = drcInfoCells(info);
      this.v2.set(parent, cells);
    }
    for (const c of cells) {
      if (myIndex < c.indexStart || myIndex > c.last) continue;
      if (`${c.prefix}${(c.suffixStart + (myIndex - c.indexStart)) | 0}` !== drcName) return -ERRNO.EINVAL;
      if (drcType !== null && c.type !== drcType) return -ERRNO.EINVAL;
      return 0;
    }
    return -ERRNO.EINVAL;
  }
}
