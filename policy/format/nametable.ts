/**
 * Builds one name table (EXACT or WILD) of docs/FORMAT.md: entries sorted by key bytes, one entry per distinct key
 * carrying the set of every rule naming it, and the open-addressing slot array (capacity = smallest power of two
 * ≥ 2 × entries, linear probing, `index + 1` stored, entries inserted in entry order).
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

/** Sorts pair indices by (key bytes, rule): a 4-byte big-endian prefix compares first, then the rest. */
function sortedOrder(list: NameList): Uint32Array {
  const n = list.count;
  const { bytes, off, len, rule } = list;
  const prefix = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const o = off[i]!;
    const l = len[i]!;
    let p = 0;
    for (let k = 0; k < 4; k++) p = (p << 8) | (k < l ? bytes[o + k]! : 0);
    prefix[i] = p >>> 0;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => {
    const pa = prefix[a]!;
    const pb = prefix[b]!;
    if (pa !== pb) return pa < pb ? -1 : 1;
    const c = compareFrom(bytes, off[a]!, len[a]!, off[b]!, len[b]!, 4);
    return c !== 0 ? c : rule[a]! - rule[b]!;
  });
  return order;
}

function compareFrom(bytes: Uint8Array, oa: number, la: number, ob: number, lb: number, from: number): number {
  const m = Math.min(la, lb);
  for (let k = from; k < m; k++) {
    const d = bytes[oa + k]! - bytes[ob + k]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

function sameKey(bytes: Uint8Array, oa: number, la: number, ob: number, lb: number): boolean {
  if (la !== lb) return false;
  for (let k = 0; k < la; k++) if (bytes[oa + k] !== bytes[ob + k]) return false;
  return true;
}

export function buildNameTable(list: NameList, strings: ByteArena, sets: SetInterner): BuiltNameTable {
  const order = sortedOrder(list);
  const { bytes, off, len, rule } = list;
  const out = new Uint32Array(list.count * 4);
  let entries = 0;
  const rules: number[] = [];
  let i = 0;
  while (i < order.length) {
    const first = order[i]!;
    rules.length = 0;
    let j = i;
    while (j < order.length && sameKey(bytes, off[first]!, len[first]!, off[order[j]!]!, len[order[j]!]!)) {
      const r = rule[order[j]!]!;
      if (rules.length === 0 || rules[rules.length - 1] !== r) rules.push(r);
      j++;
    }
    const o = off[first]!;
    const l = len[first]!;
    const key = bytes.subarray(o, o + l);
    out[entries * 4] = hashBytes(bytes, o, l);
    out[entries * 4 + 1] = strings.append(key);
    out[entries * 4 + 2] = l;
    out[entries * 4 + 3] = sets.intern(rules);
    entries++;
    i = j;
  }
  const entryWords = out.subarray(0, entries * 4);
  return { entries: entryWords, slots: buildSlots(entryWords, entries) };
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
