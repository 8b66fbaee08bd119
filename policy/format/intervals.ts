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
  // Events: at `start` a rule begins covering, at `end + 1` it stops (never past the end of the space).
  const events = new Map<T, number[]>();
  const at = (p: T): number[] => {
    let e = events.get(p);
    if (!e) {
      e = [];
      events.set(p, e);
    }
    return e;
  };
  at(zero);
  for (const r of ranges) {
    at(r.start).push(r.rule + 1);
    const n = next(r.end);
    if (n !== null) at(n).push(-(r.rule + 1));
  }
  const points = [...events.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const active = new Map<number, number>();
  const starts: T[] = [];
  const out: number[] = [];
  for (const p of points) {
    for (const ev of events.get(p)!) {
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
