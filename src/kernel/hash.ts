// FNV-1a, 32 bits: the one string hash of the simulator (symbol tables, seeds, cursor tags). Not a
// kernel function; deterministic, so the same names always give the same numbers.

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
