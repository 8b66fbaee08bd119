/**
 * `encodePolicy(ir, {version})`: writes a compiled policy file exactly as docs/FORMAT.md specifies, in version 1, 2 or
 * 3 (default `WRITE_VERSION`). Version 2 is version 1 plus the interval trees (sections 11–13, built from the same
 * intervals) and 64-byte alignment of V4_INTERVALS and of the tree sections. Version 3 is version 2 with the name
 * tables of sections 14–16 (`./nametable3.ts`) instead of sections 5–8 (present, empty), and STRINGS and the name
 * tables 64-byte aligned.
 *
 * Deterministic: the output depends only on `ir` (rule order, the name pairs, the ranges) — STRINGS holds the rule
 * names in rule order, then the EXACT keys, then the WILD keys (each in entry order); rule sets are interned in the
 * order EXACT entries, WILD entries, IPv4 intervals, IPv6 intervals. Memory: one output buffer plus typed arrays
 * proportional to the number of names.
 */

import {
  ELEMENT_SIZE,
  FLAG_ALLOW_LOOPBACK,
  FLAG_ENFORCE,
  HEADER_SIZE,
  MAGIC,
  NAME_LENS_COUNT,
  NO_BUDGET,
  SECTION_ENTRY_SIZE,
  Section,
  type SectionId,
  SLOT_ALIGN,
  SLOT_SIZE,
  TREE_ALIGN,
  V4_FANOUT,
  V6_FANOUT,
  WRITE_VERSION,
} from '../gen/format.js';
import { ByteArena } from './arena.js';
import { crc32 } from './crc32.js';
import { buildV4, buildV6 } from './intervals.js';
import type { IrPolicy } from './ir.js';
import { buildNameTable } from './nametable.js';
import { buildNameTables3 } from './nametable3.js';
import { SetInterner } from './sets.js';
import { leafFirstKeys, treeIndex } from './trees.js';

const utf8 = new TextEncoder();
const align8 = (n: number): number => (n + 7) & ~7;

export interface EncodeOptions {
  /** format version to write: 1, 2 or 3 (docs/FORMAT.md "History"); default WRITE_VERSION */
  version?: 1 | 2 | 3;
}

export function encodePolicy(ir: IrPolicy, opts: EncodeOptions = {}): Uint8Array {
  const version = opts.version ?? (WRITE_VERSION as 1 | 2 | 3);
  const strings = new ByteArena();
  const sets = new SetInterner();

  // RULES and PORTS.
  const rules = new Uint8Array(ir.rules.length * ELEMENT_SIZE[Section.RULES]);
  const rulesView = new DataView(rules.buffer);
  const ports: number[] = [];
  ir.rules.forEach((r, i) => {
    const name = utf8.encode(r.name);
    if (name.length < 1 || name.length > 255) throw new RangeError(`rule ${i}: name length ${name.length}`);
    const o = i * 24;
    rulesView.setUint32(o, strings.append(name), true);
    rulesView.setUint32(o + 4, name.length, true);
    rules[o + 8] = r.action;
    rules[o + 9] = r.proto;
    rules[o + 10] = r.kind;
    rulesView.setUint32(o + 12, r.ports.length === 0 ? 0 : ports.length / 2, true);
    rulesView.setUint32(o + 16, r.ports.length, true);
    rulesView.setUint32(o + 20, r.line, true);
    for (const [lo, hi] of r.ports) ports.push(lo, hi);
  });
  const portsBytes = new Uint8Array(ports.length * 2);
  const portsView = new DataView(portsBytes.buffer);
  ports.forEach((p, i) => {
    portsView.setUint16(i * 2, p, true);
  });

  const none = { entries: new Uint32Array(0), slots: new Uint32Array(0) };
  const exact = version >= 3 ? none : buildNameTable(ir.exact, strings, sets);
  const wild = version >= 3 ? none : buildNameTable(ir.wild, strings, sets);
  const names3 = version >= 3 ? buildNameTables3(ir.exact, ir.wild, strings, sets) : undefined;
  const v4 = buildV4(ir.v4, sets);
  const v6 = buildV6(ir.v6, sets);

  const v4Bytes = new Uint8Array(v4.starts.length * 8);
  const v4View = new DataView(v4Bytes.buffer);
  v4.starts.forEach((s, i) => {
    v4View.setUint32(i * 8, s, true);
    v4View.setUint32(i * 8 + 4, v4.sets[i]!, true);
  });
  const v6Bytes = new Uint8Array(v6.starts.length * 24);
  const v6View = new DataView(v6Bytes.buffer);
  v6.starts.forEach((s, i) => {
    for (let k = 0; k < 16; k++) v6Bytes[i * 24 + k] = Number((s >> BigInt(8 * (15 - k))) & 0xffn);
    v6View.setUint32(i * 24 + 16, v6.sets[i]!, true);
  });

  const setWords = sets.result();
  const sections: Array<{ id: SectionId; count: number; bytes: Uint8Array }> = [
    { id: Section.RULES, count: ir.rules.length, bytes: rules },
    { id: Section.PORTS, count: ports.length / 2, bytes: portsBytes },
    { id: Section.RULESETS, count: setWords.length, bytes: u32le(setWords) },
    { id: Section.STRINGS, count: strings.length, bytes: strings.bytes() },
    { id: Section.EXACT_SLOTS, count: exact.slots.length, bytes: u32le(exact.slots) },
    { id: Section.EXACT_ENTRIES, count: exact.entries.length / 4, bytes: u32le(exact.entries) },
    { id: Section.WILD_SLOTS, count: wild.slots.length, bytes: u32le(wild.slots) },
    { id: Section.WILD_ENTRIES, count: wild.entries.length / 4, bytes: u32le(wild.entries) },
    { id: Section.V4_INTERVALS, count: v4.starts.length, bytes: v4Bytes },
    { id: Section.V6_INTERVALS, count: v6.starts.length, bytes: v6Bytes },
  ];
  if (version >= 2) {
    const v4Index = Uint32Array.from(treeIndex(leafFirstKeys(v4.starts), V4_FANOUT, 0xffff_ffff));
    const v6Keys = BigUint64Array.from(v6.starts, (s) => s >> 64n);
    const v6Index = BigUint64Array.from(treeIndex(leafFirstKeys([...v6Keys]), V6_FANOUT, 0xffff_ffff_ffff_ffffn));
    sections.push(
      { id: Section.V4_INDEX, count: v4Index.length, bytes: u32le(v4Index) },
      { id: Section.V6_KEYS, count: v6Keys.length, bytes: u64le(v6Keys) },
      { id: Section.V6_INDEX, count: v6Index.length, bytes: u64le(v6Index) },
    );
  }
  if (names3) {
    const lens = new Uint8Array(NAME_LENS_COUNT * ELEMENT_SIZE[Section.NAME_LENS]);
    lens.set(names3.exact.lens, 0);
    lens.set(names3.wild.lens, ELEMENT_SIZE[Section.NAME_LENS]);
    sections.push(
      { id: Section.EXACT_TABLE, count: names3.exact.slots.length / SLOT_SIZE, bytes: names3.exact.slots },
      { id: Section.WILD_TABLE, count: names3.wild.slots.length / SLOT_SIZE, bytes: names3.wild.slots },
      { id: Section.NAME_LENS, count: NAME_LENS_COUNT, bytes: lens },
    );
  }
  // version 2: a tree node or leaf is one cache line when its section starts on one (the mapping is page-aligned);
  // version 3: also STRINGS (no key of up to 64 bytes crosses a line) and the name tables (four slots per line)
  const align = (id: SectionId): number => {
    if (version >= 2 && (id === Section.V4_INTERVALS || (id >= Section.V4_INDEX && id <= Section.V6_INDEX))) {
      return TREE_ALIGN;
    }
    const names3Aligned = id === Section.STRINGS || id === Section.EXACT_TABLE || id === Section.WILD_TABLE;
    return version >= 3 && names3Aligned ? SLOT_ALIGN : 8;
  };

  const tableEnd = HEADER_SIZE + SECTION_ENTRY_SIZE * sections.length;
  let pos = align8(tableEnd);
  const offsets: number[] = [];
  for (const s of sections) {
    if (s.bytes.length !== s.count * ELEMENT_SIZE[s.id]) throw new Error(`section ${s.id}: size mismatch`);
    pos = Math.ceil(pos / align(s.id)) * align(s.id);
    offsets.push(pos);
    pos = align8(pos + s.bytes.length);
  }
  const fileSize = pos;
  const out = new Uint8Array(fileSize);
  const view = new DataView(out.buffer);
  sections.forEach((s, i) => {
    out.set(s.bytes, offsets[i]!);
    const e = HEADER_SIZE + i * SECTION_ENTRY_SIZE;
    view.setUint32(e, s.id, true);
    view.setUint32(e + 4, s.count, true);
    view.setBigUint64(e + 8, BigInt(offsets[i]!), true);
  });

  out.set(MAGIC, 0);
  view.setUint16(8, version, true);
  view.setUint16(10, HEADER_SIZE, true);
  view.setUint32(12, (ir.enforce ? FLAG_ENFORCE : 0) | (ir.allowLoopback ? FLAG_ALLOW_LOOPBACK : 0), true);
  view.setBigUint64(16, BigInt(fileSize), true);
  view.setUint32(24, sections.length, true);
  view.setUint32(36, ir.rules.length, true);
  view.setBigUint64(40, ir.budgets.rx ?? NO_BUDGET, true);
  view.setBigUint64(48, ir.budgets.tx ?? NO_BUDGET, true);
  view.setBigUint64(56, ir.budgets.total ?? NO_BUDGET, true);
  // body first: meta_crc32 is computed with both CRC fields as zero.
  view.setUint32(32, 0, true);
  view.setUint32(28, 0, true);
  const metaCrc = crc32(out.subarray(0, tableEnd));
  view.setUint32(28, metaCrc, true);
  view.setUint32(32, crc32(out.subarray(tableEnd, fileSize)), true);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Little-endian bytes of a u64 array. */
function u64le(words: BigUint64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const b = new Uint8Array(words.length * 8);
  const v = new DataView(b.buffer);
  for (let i = 0; i < words.length; i++) v.setBigUint64(i * 8, words[i]!, true);
  return b;
}

/** Little-endian bytes of a u32 array (a view on little-endian machines, a converted copy otherwise). */
function u32le(words: Uint32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const b = new Uint8Array(words.length * 4);
  const v = new DataView(b.buffer);
  for (let i = 0; i < words.length; i++) v.setUint32(i * 4, words[i]!, true);
  return b;
}
