// K-REF-4: the three behaviours of a kobject's count. `refcountStep` is pure so the invariant check can
// replay a node's ledger through exactly the rules the kernel path used.

import type { Kernel } from './kernel.ts';

export interface Refcount {
  count: number;
  /** refcount_t saturation (checked model): the count never changes or releases again. */
  saturated: boolean;
}

export type RefcountMode = 'plain' | 'full' | 'checked';

export function refcountMode(k: Kernel): RefcountMode {
  if (k.profile.refcount === 'checked') return 'checked';
  return k.options.refcountFull ? 'full' : 'plain';
}

interface WarnSite {
  readonly site: string;
  readonly func: string;
  readonly message: string;
}

const W = {
  incOn0: {
    site: 'refcount:inc-on-0',
    func: 'refcount_inc',
    message: 'refcount_t: increment on 0; use-after-free.',
  },
  underflowFull: {
    site: 'refcount:underflow',
    func: 'refcount_sub_and_test',
    message: 'refcount_t: underflow; use-after-free.',
  },
  addUaf: {
    site: 'refcount:add-uaf',
    func: 'refcount_warn_saturate',
    message: 'refcount_t: addition on 0; use-after-free.',
  },
  saturated: {
    site: 'refcount:saturated',
    func: 'refcount_warn_saturate',
    message: 'refcount_t: saturated; leaking memory.',
  },
  subUaf: {
    site: 'refcount:sub-uaf',
    func: 'refcount_warn_saturate',
    message: 'refcount_t: underflow; use-after-free.',
  },
} as const satisfies Record<string, WarnSite>;

export interface StepResult {
  /** The put brought the count to 0: the caller runs the release. */
  readonly release: boolean;
  readonly warn: WarnSite | null;
}

const OK: StepResult = { release: false, warn: null };

/** One get (+1) or put (-1) applied to `r` under `mode`. */
export function refcountStep(mode: RefcountMode, r: Refcount, op: 1 | -1): StepResult {
  if (op === 1) {
    switch (mode) {
      case 'plain':
        r.count += 1; // a get on 0 makes 1 silently
        return OK;
      case 'full':
        if (r.count === 0) return { release: false, warn: W.incOn0 }; // refused, stays 0
        r.count += 1;
        return OK;
      case 'checked':
        if (r.saturated) return { release: false, warn: W.saturated };
        if (r.count === 0) {
          r.saturated = true;
          return { release: false, warn: W.addUaf };
        }
        r.count += 1;
        return OK;
    }
  }
  switch (mode) {
    case 'plain':
      // A put to 0 releases (again, if it already did); a put on 0 goes negative and never releases.
      r.count -= 1;
      return { release: r.count === 0, warn: null };
    case 'full':
      if (r.count === 0) return { release: false, warn: W.underflowFull };
      r.count -= 1;
      return { release: r.count === 0, warn: null };
    case 'checked':
      if (r.saturated || r.count === 0) {
        r.saturated = true;
        return { release: false, warn: W.subUaf };
      }
      r.count -= 1;
      return { release: r.count === 0, warn: null };
  }
}

function apply(k: Kernel, r: Refcount, op: 1 | -1): boolean {
  const { release, warn } = refcountStep(refcountMode(k), r, op);
  if (warn) k.fn(warn.func, () => k.warnOnce(warn.site, warn.func, warn.message));
  return release;
}

/** kref_get → refcount_inc. */
export function refcountInc(k: Kernel, r: Refcount): void {
  apply(k, r, 1);
}

/** kref_put → refcount_dec_and_test: true when the caller must run the release. */
export function refcountDecAndTest(k: Kernel, r: Refcount): boolean {
  return apply(k, r, -1);
}
