// Expectations in the shared scenario files that the kernel sources contradict (docs/kernel-notes.md,
// note 22). The scenario files are byte copies and stay as they are; lparsim follows the kernel. For
// each (scenario, kernel) the list is exactly the failures the runner must report: any other failure,
// or one of these passing, fails the acceptance test — so this list can only shrink by a fix upstream.

import type { KernelName } from '../../src/kernel/profiles.ts';

export interface KnownDivergence {
  readonly scenario: string;
  readonly kernel: KernelName;
  /** The runner's failure messages, matched exactly except for node addresses. */
  readonly failures: readonly string[];
  /** Why the kernel disagrees (the note and the source). */
  readonly because: string;
}

export const KNOWN_DIVERGENCES: readonly KnownDivergence[] = [
  {
    scenario: 'bad-put',
    kernel: '4.18',
    failures: [
      'step 8 (expect): sysfs: expected /sys/firmware/devicetree/base/vdevice/vty@30000000 to exist; it does not',
    ],
    because:
      'E4: kobject_cleanup removes a kobject still in sysfs before the release function runs (lib/kobject.c, every release)',
  },
  {
    scenario: 'bad-put',
    kernel: '5.8',
    failures: [
      'step 8 (expect): sysfs: expected /sys/firmware/devicetree/base/vdevice/vty@30000000 to exist; it does not',
      'step 8 (expect): node {"label":"vty"} (/vdevice/vty@30000000 @ <address>): expected refcount 0, saw "saturated"',
    ],
    because:
      'E4 as on 4.18; and E5: the %pOF in "Bad of_node_put() on %pOF" gets the node at count 0 through fwnode_full_name_string, which saturates it (refcount_warn_saturate)',
  },
  {
    scenario: 'sysfs-name-clash',
    kernel: '5.16',
    failures: [
      'step 5 (expect): node {"label":"n"} (/vdevice/name @ <address>): expected state "freed", saw "detached"',
    ],
    because:
      'E1: from 5.0 sysfs holds its own reference and nothing in pSeries_reconfig_remove_node drops the initial one, so a node removed through ofdt leaks',
  },
];

/** A failure message with its node addresses masked, so the list does not depend on allocation order. */
export function maskAddresses(message: string): string {
  return message.replace(/@ c[0-9a-f]{15}\)/g, '@ <address>)');
}

export function divergenceFor(scenario: string, kernel: string): KnownDivergence | undefined {
  return KNOWN_DIVERGENCES.find((d) => d.scenario === scenario && d.kernel === kernel);
}
