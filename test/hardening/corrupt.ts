/**
 * Corrupted compiled policies, generated from a valid one (the golden fixtures): the corpus of
 * test/hardening/corrupt.test.ts. Every variant has a stable name saying what was done to it.
 *
 * Families (docs/FORMAT.md "How a reader validates" is what they attack):
 * - `trunc@N`: cut at every section boundary (and 0, 1, 63, 64, the end of the section table, size − 1);
 * - `flip-hdr@B`: one bit flipped in every header byte (the CRCs then fail: the cheap first line of defence);
 * - `fixed:*`: structural damage with BOTH CRCs recomputed, so the reader's later checks (and, for damage only
 *   detectable at use, the matcher's bounds checks) must catch it: wrong version/header size/flags/file size/section
 *   count, each section's offset pointing outside the file / unaligned / into the table / overlapping, each section's
 *   count huge or off by one, every field of the first RULES record out of range, a PORTS range with lo > hi,
 *   RULESETS word 0 ≠ 0 and sets running past the end or naming rules ≥ rule_count, hash slots pointing past the
 *   entries, entries with keys outside STRINGS, interval sets pointing anywhere, a bit flip in every byte of every
 *   section's first element; in version 2, tree keys (V4_INDEX, V6_KEYS, V6_INDEX) all-ones, zero or unsorted; in
 *   version 3, name slots whose key, length, hash or set lie (outside STRINGS, an empty marker inside a chain, an
 *   inline rule ≥ rule_count, the empty set), every slot full, and NAME_LENS all-ones or all-zero.
 */
import { crc32 } from 'node:zlib';

import { ELEMENT_SIZE } from '../../policy/gen/format.js';

export const ELEM_SIZE: Record<number, number> = ELEMENT_SIZE;
export const SECTION_NAMES: Record<number, string> = {
  1: 'RULES',
  2: 'PORTS',
  3: 'RULESETS',
  4: 'STRINGS',
  5: 'EXACT_SLOTS',
  6: 'EXACT_ENTRIES',
  7: 'WILD_SLOTS',
  8: 'WILD_ENTRIES',
  9: 'V4',
  10: 'V6',
  11: 'V4_INDEX',
  12: 'V6_KEYS',
  13: 'V6_INDEX',
  14: 'EXACT_TABLE',
  15: 'WILD_TABLE',
  16: 'NAME_LENS',
};

export interface Section {
  id: number;
  count: number;
  offset: number;
  /** byte offset of this section's entry in the section table */
  entry: number;
}

export function sections(b: Buffer): Section[] {
  const n = b.readUInt32LE(24);
  const out: Section[] = [];
  for (let i = 0; i < n; i++) {
    const e = 64 + 16 * i;
    out.push({
      id: b.readUInt32LE(e),
      count: b.readUInt32LE(e + 4),
      offset: Number(b.readBigUInt64LE(e + 8)),
      entry: e,
    });
  }
  return out;
}

/** Recompute meta_crc32 and body_crc32 (docs/FORMAT.md "Header"). */
export function fixCrcs(b: Buffer): Buffer {
  const n = b.readUInt32LE(24);
  const end = 64 + 16 * n;
  if (n > 64 || end > b.length) return b;
  b.fill(0, 28, 36);
  const body = crc32(b.subarray(end));
  b.writeUInt32LE(crc32(b.subarray(0, end)), 28);
  b.writeUInt32LE(body, 32);
  return b;
}

export interface Variant {
  name: string;
  bytes: Buffer;
}

export function corruptVariants(good: Buffer, tag: string): Variant[] {
  const out: Variant[] = [];
  const add = (name: string, bytes: Buffer) => out.push({ name: `${tag}/${name}`, bytes });
  /** a copy with `edit` applied and the CRCs recomputed */
  const fixed = (name: string, edit: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    edit(b);
    add(`fixed:${name}`, fixCrcs(b));
  };
  const secs = sections(good);
  const sec = (id: number) => secs.find((s) => s.id === id)!;
  const tableEnd = 64 + 16 * secs.length;

  // truncations at every boundary
  const cuts = new Set<number>([0, 1, 8, 63, 64, tableEnd - 1, tableEnd, good.length - 1]);
  for (const s of secs) {
    cuts.add(s.offset);
    cuts.add(s.offset + s.count * (ELEM_SIZE[s.id] ?? 1));
  }
  for (const c of [...cuts].sort((a, b) => a - b)) if (c < good.length) add(`trunc@${c}`, good.subarray(0, c));
  // a file that grew (appended zeros: file_size no longer matches)
  add('grown', Buffer.concat([good, Buffer.alloc(8)]));

  // one bit in every header byte (CRC mismatch or an earlier check)
  for (let i = 0; i < 64; i++) {
    const b = Buffer.from(good);
    b[i] = (b[i] as number) ^ (1 << (i % 8));
    add(`flip-hdr@${i}`, b);
  }

  // header fields with valid CRCs
  for (const v of [0, 1, 2, 3, 0xffff]) fixed(`version=${v}`, (b) => b.writeUInt16LE(v, 8));
  for (const v of [0, 63, 65]) fixed(`header_size=${v}`, (b) => b.writeUInt16LE(v, 10));
  fixed('flags=unknown-bit', (b) => b.writeUInt32LE(b.readUInt32LE(12) | 0x80, 12));
  for (const v of [0n, BigInt(good.length - 1), BigInt(good.length + 1), 0xffffffffffffffffn])
    fixed(`file_size=${v}`, (b) => b.writeBigUInt64LE(v, 16));
  for (const v of [0, 9, 65, 0xffffffff]) fixed(`section_count=${v}`, (b) => b.writeUInt32LE(v, 24));
  fixed('rule_count+1', (b) => b.writeUInt32LE(b.readUInt32LE(36) + 1, 36));

  // every section: offsets and counts
  for (const s of secs) {
    const n = SECTION_NAMES[s.id] ?? `id${s.id}`;
    const off = (v: bigint) => (b: Buffer) => b.writeBigUInt64LE(v, s.entry + 8);
    fixed(`${n}.offset=size`, off(BigInt(good.length)));
    fixed(`${n}.offset=size-8`, off(BigInt(good.length - 8)));
    fixed(`${n}.offset=2^63`, off(1n << 63n));
    fixed(`${n}.offset=max`, off(0xfffffffffffffff8n));
    fixed(`${n}.offset=0`, off(0n));
    fixed(`${n}.offset+4(unaligned)`, off(BigInt(s.offset + 4)));
    fixed(`${n}.offset=table`, off(64n));
    const other = secs.find((o) => o.id !== s.id && o.count > 0);
    if (other) fixed(`${n}.offset=overlap-${SECTION_NAMES[other.id]}`, off(BigInt(other.offset)));
    const cnt = (v: number) => (b: Buffer) => b.writeUInt32LE(v >>> 0, s.entry + 4);
    fixed(`${n}.count=max`, cnt(0xffffffff));
    fixed(`${n}.count=2^31`, cnt(0x80000000));
    fixed(`${n}.count+1`, cnt(s.count + 1));
    if (s.count > 0) fixed(`${n}.count-1`, cnt(s.count - 1));
    fixed(`${n}.count=0`, cnt(0));
    fixed(`${n}.id=99`, (b) => b.writeUInt32LE(99, s.entry));
    fixed(`${n}.id=0`, (b) => b.writeUInt32LE(0, s.entry));
    // a bit flip in every byte of the first element
    const size = ELEM_SIZE[s.id] ?? 1;
    if (s.count > 0) {
      for (let i = 0; i < size; i++) {
        fixed(`${n}[0]+${i}^`, (b) => {
          b[s.offset + i] = (b[s.offset + i] as number) ^ (0x80 >> (i % 8));
        });
      }
    }
  }
  // swap two section table entries (order check)
  fixed('sections-swapped', (b) => {
    const a = Buffer.from(b.subarray(64, 80));
    b.copy(b, 64, 80, 96);
    a.copy(b, 80);
  });

  // RULES record fields
  const rules = sec(1);
  if (rules.count > 0) {
    const r = rules.offset;
    const fields: [string, (b: Buffer) => void][] = [
      ['name_off=huge', (b) => b.writeUInt32LE(0xfffffff0, r)],
      ['name_len=0', (b) => b.writeUInt32LE(0, r + 4)],
      ['name_len=256', (b) => b.writeUInt32LE(256, r + 4)],
      ['name_len=max', (b) => b.writeUInt32LE(0xffffffff, r + 4)],
      ['action=2', (b) => b.writeUInt8(2, r + 8)],
      ['proto=0', (b) => b.writeUInt8(0, r + 9)],
      ['proto=4', (b) => b.writeUInt8(4, r + 9)],
      ['kind=0', (b) => b.writeUInt8(0, r + 10)],
      ['kind=5', (b) => b.writeUInt8(5, r + 10)],
      ['ports_first=huge', (b) => b.writeUInt32LE(0xffffffff, r + 12)],
      ['ports_count=huge', (b) => b.writeUInt32LE(0xffffffff, r + 16)],
      [
        'ports_first+count overflow',
        (b) => {
          b.writeUInt32LE(0x80000000, r + 12);
          b.writeUInt32LE(0x80000000, r + 16);
        },
      ],
    ];
    for (const [name, f] of fields) fixed(`rule0.${name}`, f);
  }
  const ports = sec(2);
  if (ports.count > 0)
    fixed('port0.lo>hi', (b) => {
      b.writeUInt16LE(9, ports.offset);
      b.writeUInt16LE(8, ports.offset + 2);
    });
  const sets = sec(3);
  fixed('rulesets.word0=1', (b) => b.writeUInt32LE(1, sets.offset));
  if (sets.count > 1) {
    // damage detectable only at use: the first set's length runs past the end / its rule indices out of range
    fixed('rulesets.set1.n=huge', (b) => b.writeUInt32LE(0xffffffff, sets.offset + 4));
    if (sets.count > 2) fixed('rulesets.set1.rule=huge', (b) => b.writeUInt32LE(0xfffffff0, sets.offset + 8));
  }
  for (const [slotsId, entriesId, what] of [
    [5, 6, 'exact'],
    [7, 8, 'wild'],
  ] as const) {
    const slots = sec(slotsId);
    const entries = sec(entriesId);
    for (let i = 0; i < slots.count; i++) {
      const at = slots.offset + 4 * i;
      if (good.readUInt32LE(at) !== 0) {
        fixed(`${what}.slot${i}=huge`, (b) => b.writeUInt32LE(0xffffffff, at));
        fixed(`${what}.slot${i}=entries+1`, (b) => b.writeUInt32LE(entries.count + 1, at));
      }
    }
    // every slot full: a lookup that misses must still stop (it probes at most `cap` slots)
    if (slots.count > 0 && entries.count > 0)
      fixed(`${what}.slots-all-full`, (b) => {
        for (let i = 0; i < slots.count; i++) b.writeUInt32LE(1, slots.offset + 4 * i);
      });
    for (let i = 0; i < Math.min(entries.count, 4); i++) {
      const e = entries.offset + 16 * i;
      fixed(`${what}.entry${i}.key_off=huge`, (b) => b.writeUInt32LE(0xfffffff0, e + 4));
      fixed(`${what}.entry${i}.key_len=huge`, (b) => b.writeUInt32LE(0xffffffff, e + 8));
      fixed(`${what}.entry${i}.set=huge`, (b) => b.writeUInt32LE(0xffffffff, e + 12));
      fixed(`${what}.entry${i}.set=last`, (b) => b.writeUInt32LE(sets.count - 1, e + 12));
    }
  }
  for (const [id, stride, what] of [
    [9, 8, 'v4'],
    [10, 24, 'v6'],
  ] as const) {
    const iv = sec(id);
    const setAt = id === 9 ? 4 : 16;
    for (let i = 0; i < Math.min(iv.count, 6); i++) {
      fixed(`${what}.interval${i}.set=huge`, (b) => b.writeUInt32LE(0xffffffff, iv.offset + stride * i + setAt));
    }
    fixed(`${what}.interval0.start≠0`, (b) => b.writeUInt8(1, iv.offset + (id === 9 ? 0 : 15)));
    if (iv.count > 1)
      fixed(`${what}.intervals-unsorted`, (b) => b.fill(0xff, iv.offset + stride, iv.offset + stride + 4));
  }
  // version 2's trees: keys that lie (readers still only read inside the sections, and agree on the decisions)
  for (const [id, size] of [
    [11, 4],
    [12, 8],
    [13, 8],
  ] as const) {
    const t = secs.find((x) => x.id === id);
    if (!t || t.count === 0) continue;
    const n = SECTION_NAMES[id];
    const end = t.offset + t.count * size;
    fixed(`${n}.all-ones`, (b) => b.fill(0xff, t.offset, end));
    fixed(`${n}.all-zero`, (b) => b.fill(0, t.offset, end));
    fixed(`${n}.reversed`, (b) => {
      const keys = Buffer.from(b.subarray(t.offset, end));
      for (let i = 0; i < t.count; i++) keys.copy(b, t.offset + (t.count - 1 - i) * size, i * size, (i + 1) * size);
    });
    if (t.count > 1) fixed(`${n}.key1=0`, (b) => b.fill(0, t.offset + size, t.offset + 2 * size));
  }
  // version 3's name tables: slots that lie (a lookup still reads only inside the sections and always stops)
  for (const [id, what] of [
    [14, 'exact3'],
    [15, 'wild3'],
  ] as const) {
    const t = secs.find((x) => x.id === id);
    if (!t || t.count === 0) continue;
    const used: number[] = [];
    for (let i = 0; i < t.count && used.length < 4; i++)
      if (good.readUInt16LE(t.offset + 16 * i + 8) !== 0) used.push(i);
    for (const i of used) {
      const o = t.offset + 16 * i;
      fixed(`${what}.slot${i}.key_off=huge`, (b) => b.writeUInt32LE(0xfffffff0, o + 4));
      fixed(`${what}.slot${i}.key_len=max`, (b) => b.writeUInt16LE(0xffff, o + 8));
      fixed(`${what}.slot${i}.key_len=0`, (b) => b.writeUInt16LE(0, o + 8));
      fixed(`${what}.slot${i}.hash^`, (b) => b.writeUInt32LE((b.readUInt32LE(o) ^ 1) >>> 0, o));
      fixed(`${what}.slot${i}.set=0`, (b) => b.writeUInt32LE(0, o + 12));
      fixed(`${what}.slot${i}.set=huge`, (b) => b.writeUInt32LE(0x7fffffff, o + 12));
      fixed(`${what}.slot${i}.set=inline-huge`, (b) => b.writeUInt32LE(0xffffffff, o + 12));
      fixed(`${what}.slot${i}.set=inline-rule_count`, (b) => b.writeUInt32LE((0x80000000 | rules.count) >>> 0, o + 12));
      fixed(`${what}.slot${i}.set=last-word`, (b) => b.writeUInt32LE(sets.count - 1, o + 12));
    }
    if (used.length > 0) {
      const first = t.offset + 16 * used[0]!;
      fixed(`${what}.slots-all-full`, (b) => {
        for (let i = 0; i < t.count; i++) b.copy(b, t.offset + 16 * i, first, first + 16);
      });
    }
  }
  const lens = secs.find((x) => x.id === 16);
  if (lens && lens.count > 0) {
    fixed('NAME_LENS.all-ones', (b) => b.fill(0xff, lens.offset, lens.offset + 32 * lens.count));
    fixed('NAME_LENS.all-zero', (b) => b.fill(0, lens.offset, lens.offset + 32 * lens.count));
  }
  return out;
}
