// The errno numbers the modelled kernel code returns (include/uapi/asm-generic/errno-base.h and
// errno.h), and their names as a caller reads them.

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENOMEM: 12,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const NAMES: ReadonlyMap<number, ErrnoName> = new Map(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, value]) => [value, name]),
);

/** The name of a negative return (-22 → EINVAL), or null for a number the table does not name. */
export function errnoOf(rc: number): ErrnoName | null {
  return NAMES.get(-rc) ?? null;
}

/** `EINVAL` for -22; `E<n>` for a number the table does not name. */
export function errnoName(rc: number): string {
  return errnoOf(rc) ?? `E${-rc}`;
}
