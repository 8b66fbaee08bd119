/**
 * Builds one name table (EXACT or WILD) of docs/FORMAT.md: entries sorted by key bytes, one entry per distinct key
 * carrying the set of every rule naming it, and the open-addressing slot array (capacity = smallest power of two
 * ≥ 2 × entries, linear probing, `index + 1` stored, entries inserted in entry order).
 *
 * Sorting a million keys is the writer's hot spot. It is an MSD radix sort on 4-byte digits that lets V8's native
 * numeric sort do the work: each element of a range gets the number `digit × 2^21 + position` (exact in a float64:
 * 32 + 21 bits), the range is sorted numerically, and runs sharing a digit are sorted again on the next 4 bytes.
 * Keys never contain a 0 byte, so padding a short key with zeros orders it before its extensions. Ranges of more
 * than 2^21 elements, and small ones, use a comparison sort instead.
 */
import type { ByteArena } from './arena.js';
import { hashBytes } from './hash.js';
import type { NameList } from './ir.js';
import type { SetInterner } from './sets.js';

export interface BuiltNameTable {
  /** 4 u32 per entry: hash, key_off, key_len, set */
  entries: Uint32Array;
  slots: Uint32Array;
}

const POS_BITS = 2 ** 21;
const SMALL = 24;

function digit(bytes: Uint8Array, off: number, len: number, depth: number): number {
  let d = 0;
  for (let k = depth; k < depth + 4; k++) d = d * 256 + (k < len ? bytes[off + k]! : 0);
  return d;
}

function compareFrom(bytes: Uint8Array, oa: number, la: number, ob: number, lb: number, from: number): number {
  const m = Math.min(la, lb);
  for (let k = from; k < m; k++) {
    const d = bytes[oa + k]! - bytes[ob + k]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

/** Sorts `order[lo, hi)` (pair indices) by key bytes; all keys in the range share their first `depth` bytes. */
function sortRange(list: NameList, order: Uint32Array, lo: number, hi: number, depth: number): void {
  const { bytes, off, len } = list;
  const n = hi - lo;
  if (n < 2) return;
  if (n <= SMALL) {
    // insertion sort in place: no allocation for the (very many) tiny runs
    for (let i = lo + 1; i < hi; i++) {
      const e = order[i]!;
      let j = i - 1;
      while (j >= lo && compareFrom(bytes, off[order[j]!]!, len[order[j]!]!, off[e]!, len[e]!, depth) > 0) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = e;
    }
    return;
  }
  if (n >= POS_BITS) {
    order.subarray(lo, hi).sort((a, b) => compareFrom(bytes, off[a]!, len[a]!, off[b]!, len[b]!, depth));
    return;
  }
  const keys = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const e = order[lo + j]!;
    keys[j] = digit(bytes, off[e]!, len[e]!, depth) * POS_BITS + j;
  }
  keys.sort();
  const sorted = new Uint32Array(n);
  const digits = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const k = keys[j]!;
    const d = Math.floor(k / POS_BITS);
    sorted[j] = order[lo + (k - d * POS_BITS)]!;
    digits[j] = d;
  }
  order.set(sorted, lo);
  for (let a = 0; a < n; ) {
    let b = a + 1;
    while (b < n && digits[b] === digits[a]) b++;
    // a run whose first key ends within these 4 bytes holds identical keys (same zero padding = same length)
    if (b - a > 1 && len[order[lo + a]!]! > depth + 4) sortRange(list, order, lo + a, lo + b, depth + 4);
    a = b;
  }
}

function sameKey(bytes: Uint8Array, oa: number, la: number, ob: number, lb: number): boolean {
  if (la !== lb) return false;
  for (let k = 0; k < la; k++) if (bytes[oa + k] !== bytes[ob + k]) return false;
  return true;
}

/** The distinct keys of a list in ascending byte order: key g is pair `order[starts[g]]`, its pairs `order[starts[g],
 * starts[g + 1])`. */
export interface KeyGroups {
  order: Uint32Array;
  starts: Uint32Array;
  count: number;
}

export function groupKeys(list: NameList): KeyGroups {
  const n = list.count;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  sortRange(list, order, 0, n, 0);
  const { bytes, off, len } = list;
  const starts = new Uint32Array(n + 1);
  let count = 0;
  let i = 0;
  while (i < n) {
    const first = order[i]!;
    starts[count++] = i;
    let j = i + 1;
    while (j < n && sameKey(bytes, off[first]!, len[first]!, off[order[j]!]!, len[order[j]!]!)) j++;
    i = j;
  }
  starts[count] = n;
  return { order, starts: starts.subarray(0, count + 1), count };
}

/** The rules of key group g, ascending, without duplicates, into `out` (cleared first). */
export function groupRules(list: NameList, g: KeyGroups, k: number, out: number[]): number[] {
  out.length = 0;
  for (let j = g.starts[k]!; j < g.starts[k + 1]!; j++) out.push(list.rule[g.order[j]!]!);
  if (out.length > 1) {
    out.sort((a, b) => a - b);
    let w = 1;
    for (let q = 1; q < out.length; q++) if (out[q] !== out[w - 1]) out[w++] = out[q]!;
    out.length = w;
  }
  return out;
}

export function buildNameTable(list: NameList, strings: ByteArena, sets: SetInterner): BuiltNameTable {
  const g = groupKeys(list);
  const { bytes, off, len } = list;
  const out = new Uint32Array(g.count * 4);
  const rules: number[] = [];
  for (let k = 0; k < g.count; k++) {
    const first = g.order[g.starts[k]!]!;
    const o = off[first]!;
    const l = len[first]!;
    out[k * 4] = hashBytes(bytes, o, l);
    out[k * 4 + 1] = strings.appendFrom(bytes, o, l);
    out[k * 4 + 2] = l;
    out[k * 4 + 3] = sets.intern(groupRules(list, g, k, rules));
  }
  return { entries: out, slots: buildSlots(out, g.count) };
}

function buildSlots(entries: Uint32Array, n: number): Uint32Array {
  if (n === 0) return new Uint32Array(0);
  let cap = 1;
  while (cap < 2 * n) cap *= 2;
  const slots = new Uint32Array(cap);
  const mask = cap - 1;
  for (let e = 0; e < n; e++) {
    let i = entries[e * 4]! & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = e + 1;
  }
  return slots;
}
