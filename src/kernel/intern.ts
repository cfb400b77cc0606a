// Process-wide string sharing for names that every LPAR derives the same way (holder names such as
// `child:<name>`): a fleet of LPARs booted from one blob then keeps one copy of each, not one per
// node per LPAR. Bounded, so that names from uploaded trees cannot grow it without limit: past the
// bound a name is made afresh, which changes nothing but memory.

export class StringInterner {
  private readonly strings = new Map<string, string>();
  private readonly limit: number;
  private readonly make: (key: string) => string;

  constructor(make: (key: string) => string, limit = 1 << 16) {
    this.make = make;
    this.limit = limit;
  }

  get(key: string): string {
    const known = this.strings.get(key);
    if (known !== undefined) return known;
    const made = this.make(key);
    if (this.strings.size < this.limit) this.strings.set(key, made);
    return made;
  }
}

/**
 * `s` as one flat string: a string built with `+` or a template is a rope that keeps its parts alive,
 * about twice the memory for a short name kept as long as the node.
 */
export function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
