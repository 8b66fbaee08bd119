/**
 * Builds V4_INTERVALS / V6_INTERVALS (docs/FORMAT.md, "IP intervals"): the address space cut into elementary
 * intervals at every rule boundary, each carrying the set of every IP rule covering it; the first interval starts at
 * 0 / `::`; adjacent intervals with identical sets are merged.
 */
import type { V4Range, V6Range } from './ir.js';
import type { SetInterner } from './sets.js';

interface Range<T> {
  start: T;
  end: T;
  rule: number;
}

function build<T extends number | bigint>(
  ranges: ReadonlyArray<Range<T>>,
  zero: T,
  next: (end: T) => T | null,
  sets: SetInterner,
): { starts: T[]; sets: number[] } {
  // Events: at `start` a rule begins covering (+(rule+1)), at `end + 1` it stops (-(rule+1); never past the end of
  // the space); event 0 at `zero` (no rule) makes the first interval start there. Kept as parallel arrays sorted by
  // point, not a Map keyed by point: V8 hashes a bigint by its low 64 bits only, so IPv6 points (/64 networks end on
  // …:0000:0000:0000:0000 too) all collide and a Map made IPv6 compiling quadratic in the number of rules.
  const pts: T[] = [zero];
  const evs: number[] = [0];
  for (const r of ranges) {
    pts.push(r.start);
    evs.push(r.rule + 1);
    const n = next(r.end);
    if (n !== null) {
      pts.push(n);
      evs.push(-(r.rule + 1));
    }
  }
  const order = Array.from(pts.keys()).sort((i, j) => {
    const a = pts[i]!;
    const b = pts[j]!;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const active = new Map<number, number>();
  const starts: T[] = [];
  const out: number[] = [];
  for (let k = 0; k < order.length; ) {
    // every event at point p, then the interval starting at p (the set is the same whatever their order)
    const p = pts[order[k]!]!;
    for (; k < order.length && pts[order[k]!] === p; k++) {
      const ev = evs[order[k]!]!;
      if (ev === 0) continue;
      const r = Math.abs(ev) - 1;
      const c = (active.get(r) ?? 0) + (ev > 0 ? 1 : -1);
      if (c === 0) active.delete(r);
      else active.set(r, c);
    }
    const set = sets.intern([...active.keys()].sort((a, b) => a - b));
    if (out.length > 0 && out[out.length - 1] === set) continue;
    starts.push(p);
    out.push(set);
  }
  return { starts, sets: out };
}

const V4_MAX = 0xffff_ffff;
const V6_MAX = (1n << 128n) - 1n;

export function buildV4(ranges: readonly V4Range[], sets: SetInterner): { starts: number[]; sets: number[] } {
  return build<number>(ranges, 0, (e) => (e >= V4_MAX ? null : e + 1), sets);
}

export function buildV6(ranges: readonly V6Range[], sets: SetInterner): { starts: bigint[]; sets: number[] } {
  return build<bigint>(ranges, 0n, (e) => (e >= V6_MAX ? null : e + 1n), sets);
}
