// /sys/kernel/dlpar (arch/powerpc/platforms/pseries/dlpar.c, K-DLPAR-4): dlpar_store parses
// "<resource> <action> <id_type> <id>" as drmgr writes it and hands the request to dlpar_cpu or
// dlpar_memory. The store answers the byte count or a negative errno, as write(2) would.
// Resources (dlpar_parse_resource): memory and cpu in every release here, and 6.12 adds dt, the
// device-tree half of I/O DLPAR (hotplug-dt.ts). No release takes pci, phb, slot or pmem here: I/O
// slots are rpadlpar's (/sys/bus/pci/slots/control), pmem comes only from a hotplug interrupt, and
// the store refuses them as any unknown word, "Invalid resource specified." and -EINVAL.

import { ERRNO } from '../kernel/errno.ts';
import { KERNEL_NAMES, type KernelProfile } from '../kernel/profiles.ts';
import type { OfState } from '../of/state.ts';
import { type CpuHotplugContext, dlparCpu, type HpAction, type HpIdType } from './hotplug-cpu.ts';
import { type DtHotplugContext, dlparHpDt } from './hotplug-dt.ts';
import { dlparMemory, type MemoryHotplugContext } from './hotplug-memory.ts';

const PR = 'dlpar: ';

export type DlparResource = 'cpu' | 'memory' | 'dt';

/**
 * The resources the release's dlpar_parse_resource takes, in dlpar_show's order: `memory,cpu` from
 * 4.16 to 6.6, `memory,cpu,dt` in 6.12 (dlpar.c:606-611 and :753 there; the dt case is absent from
 * 6.6.9's dlpar.c:412-417). One release, so a comparison by name rather than a profile fact.
 */
export function dlparResources(profile: KernelProfile): readonly DlparResource[] {
  return KERNEL_NAMES.indexOf(profile.name) >= KERNEL_NAMES.indexOf('6.12')
    ? ['memory', 'cpu', 'dt']
    : ['memory', 'cpu'];
}

export interface DlparRequest {
  readonly resource: DlparResource;
  readonly action: HpAction;
  readonly idType: HpIdType;
  readonly count?: number;
  readonly index?: number;
}

/** sysfs_streq: equal, either side allowed one trailing newline. */
function sysfsStreq(a: string, b: string): boolean {
  return a.replace(/\n$/, '') === b.replace(/\n$/, '');
}

/** kstrtou32 with base 0: 0x hex, 0 octal, else decimal; one trailing newline allowed. */
function kstrtou32(s: string): number | null {
  const t = s.replace(/\n$/, '');
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = Number.parseInt(t.slice(2), 16);
  else if (/^0[0-7]*$/.test(t)) v = Number.parseInt(t, 8);
  else if (/^\+?[1-9][0-9]*$/.test(t)) v = Number(t.replace('+', ''));
  else return null;
  return v > 0xffffffff ? null : v;
}

/** The parse, step by step with the kernel's messages; an errno when it refuses. */
export function dlparParse(of: OfState, buf: string): DlparRequest | number {
  const args = buf.split(' ');
  let at = 0;
  const next = (): string | undefined => args[at++];
  const fail = (text?: string) => {
    if (text) of.k.printk('err', `${PR}${text}`);
    return -ERRNO.EINVAL;
  };
  const resource = next();
  if (resource === undefined) return -ERRNO.EINVAL;
  const res = dlparResources(of.k.profile).find((r) => sysfsStreq(resource, r));
  if (!res) return fail('Invalid resource specified.');
  const action = next();
  if (action === undefined) return -ERRNO.EINVAL;
  let act: HpAction;
  if (sysfsStreq(action, 'add')) act = 'add';
  else if (sysfsStreq(action, 'remove')) act = 'remove';
  else return fail('Invalid action specified.');
  const idType = next();
  if (idType === undefined) return -ERRNO.EINVAL;
  const number = (missing: string, invalid: string): number | string => {
    const arg = next();
    if (arg === undefined) return missing;
    return kstrtou32(arg) ?? invalid;
  };
  if (sysfsStreq(idType, 'indexed-count')) {
    const count = number('No DRC count specified.', 'Invalid DRC count specified.');
    if (typeof count === 'string') return fail(count);
    const index = number('No DRC Index specified.', 'Invalid DRC Index specified.');
    if (typeof index === 'string') return fail(index);
    return { resource: res, action: act, idType: 'indexed-count', count, index };
  }
  if (sysfsStreq(idType, 'index')) {
    const index = number('No DRC Index specified.', 'Invalid DRC Index specified.');
    if (typeof index === 'string') return fail(index);
    return { resource: res, action: act, idType: 'index', index };
  }
  if (sysfsStreq(idType, 'count')) {
    const count = number('No DRC count specified.', 'Invalid DRC count specified.');
    if (typeof count === 'string') return fail(count);
    return { resource: res, action: act, idType: 'count', count };
  }
  return fail('Invalid id_type specified.');
}

export interface DlparContexts {
  readonly cpu: () => CpuHotplugContext;
  readonly memory: () => MemoryHotplugContext | null;
  readonly dt: () => DtHotplugContext;
}

/** dlpar_store: the byte count, or the errno (and the kernel's closing line) for a refused request. */
export function dlparStore(
  of: OfState,
  ctx: DlparContexts,
  buf: string,
): { rc: number; request: DlparRequest | null } {
  return of.k.fn('dlpar_store', () => {
    const parsed = dlparParse(of, buf);
    let rc: number;
    let request: DlparRequest | null = null;
    if (typeof parsed === 'number') rc = parsed;
    else {
      request = parsed;
      const value = parsed.idType === 'index' ? parsed.index! : parsed.count!;
      if (parsed.resource === 'cpu') rc = dlparCpu(ctx.cpu(), parsed.action, parsed.idType, value);
      else if (parsed.resource === 'dt')
        rc = dlparHpDt(ctx.dt(), parsed.action, parsed.idType, parsed.index ?? 0);
      else {
        const m = ctx.memory();
        rc = m ? dlparMemory(m, parsed.action, parsed.idType, value) : -ERRNO.EINVAL;
      }
    }
    if (rc)
      for (const line of `Could not handle DLPAR request "${buf}"`.split('\n'))
        of.k.printk('err', `${PR}${line}`);
    return { rc: rc ? rc : new TextEncoder().encode(buf).length, request };
  });
}
