/**
 * Builds the two name tables of format version 3 (docs/FORMAT.md, "Version 3 name tables"): for each table one array
 * of 16-byte slots with the entry inlined (`u32 hash, u32 key_off, u16 key_len, u16 zero, u32 set`), and the set of
 * its key lengths (NAME_LENS).
 *
 * Every key's set is the union of its own rules and those of every WILD key that is a proper suffix of it after a dot
 * (the EXACT key `a.b.c` also carries `*.b.c` and `*.c`; the WILD key `b.c` also `*.c`), so a reader stops at the first
 * table hit. A set of one rule is stored inline (`SET_INLINE | rule`), others interned in RULESETS. Keys go into
 * STRINGS in key order, EXACT then WILD, a key of at most 64 bytes never crossing a 64-byte boundary of STRINGS (zero
 * padding before it). Slots: capacity the smallest power of two ≥ 2 × keys, keys inserted in key order, linear probing.
 */
import { SET_INLINE, SLOT_ALIGN, SLOT_SIZE } from '../gen/format.js';
import type { ByteArena } from './arena.js';
import { hash3Bytes } from './hash.js';
import type { NameList } from './ir.js';
import { groupKeys, groupRules, type KeyGroups } from './nametable.js';
import type { SetInterner } from './sets.js';

export interface BuiltTable3 {
  /** `cap × SLOT_SIZE` bytes, little-endian */
  slots: Uint8Array;
  /** 32 bytes: bit L set when some key has L bytes */
  lens: Uint8Array;
}

export function buildNameTables3(
  exact: NameList,
  wild: NameList,
  strings: ByteArena,
  sets: SetInterner,
): { exact: BuiltTable3; wild: BuiltTable3 } {
  const ge = groupKeys(exact);
  const gw = groupKeys(wild);
  // own rules of every WILD key, and its groups by hash (to find the WILD keys that are suffixes of a key)
  const wildRules: number[][] = [];
  const byHash = new Map<number, number[]>();
  for (let k = 0; k < gw.count; k++) {
    wildRules.push([...groupRules(wild, gw, k, [])]);
    const p = gw.order[gw.starts[k]!]!;
    const h = hash3Bytes(wild.bytes, wild.off[p]!, wild.len[p]!);
    const list = byHash.get(h);
    if (list) list.push(k);
    else byHash.set(h, [k]);
  }
  const wildKeyOf = (bytes: Uint8Array, o: number, l: number): number => {
    const hits = byHash.get(hash3Bytes(bytes, o, l));
    if (!hits) return -1;
    for (const k of hits) {
      const p = gw.order[gw.starts[k]!]!;
      if (wild.len[p] !== l) continue;
      const wo = wild.off[p]!;
      let eq = true;
      for (let b = 0; b < l && eq; b++) eq = wild.bytes[wo + b] === bytes[o + b];
      if (eq) return k;
    }
    return -1;
  };
  const build = (list: NameList, g: KeyGroups): BuiltTable3 => {
    let cap = g.count === 0 ? 0 : 1;
    while (cap < 2 * g.count) cap *= 2;
    const slots = new Uint8Array(cap * SLOT_SIZE);
    const view = new DataView(slots.buffer);
    const lens = new Uint8Array(32);
    const own: number[] = [];
    for (let k = 0; k < g.count; k++) {
      const p = g.order[g.starts[k]!]!;
      const o = list.off[p]!;
      const l = list.len[p]!;
      let rules = groupRules(list, g, k, own);
      for (let d = 0; d + 1 < l; d++) {
        if (list.bytes[o + d] !== 0x2e) continue;
        const w = wildKeyOf(list.bytes, o + d + 1, l - d - 1);
        if (w >= 0) rules = union(rules, wildRules[w]!);
      }
      const set = rules.length === 1 ? (SET_INLINE | rules[0]!) >>> 0 : sets.intern(rules);
      if (l <= SLOT_ALIGN && (strings.length % SLOT_ALIGN) + l > SLOT_ALIGN) {
        strings.pad(SLOT_ALIGN - (strings.length % SLOT_ALIGN));
      }
      const keyOff = strings.appendFrom(list.bytes, o, l);
      const h = hash3Bytes(list.bytes, o, l);
      let i = h & (cap - 1);
      while (view.getUint16(i * SLOT_SIZE + 8, true) !== 0) i = (i + 1) & (cap - 1);
      view.setUint32(i * SLOT_SIZE, h, true);
      view.setUint32(i * SLOT_SIZE + 4, keyOff, true);
      view.setUint16(i * SLOT_SIZE + 8, l, true);
      view.setUint32(i * SLOT_SIZE + 12, set, true);
      lens[l >> 3]! |= 1 << (l & 7);
    }
    return { slots, lens };
  };
  return { exact: build(exact, ge), wild: build(wild, gw) };
}

/** Union of two ascending rule lists, ascending, without duplicates. */
function union(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  }
  return out;
}
