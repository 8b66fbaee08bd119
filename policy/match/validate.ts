/**
 * The structural checks a reader runs before any lookup (docs/FORMAT.md, "How a reader validates", checks 1–10).
 * Returns the located sections; throws `FormatError` naming the failed check. O(rules + ports), never O(names):
 * per-entry checks happen at use (see `./compiled.ts`).
 */
import {
  BODY_CRC_ALWAYS_MAX,
  ELEMENT_SIZE,
  FORMAT_VERSION,
  HEADER_SIZE,
  KNOWN_FLAGS,
  MAGIC,
  MAX_SECTIONS,
  MIN_SECTIONS,
  SECTION_ENTRY_SIZE,
  Section,
  type SectionId,
} from '../format/constants.js';
import { crc32 } from '../format/crc32.js';
import { FormatError } from './errors.js';

export interface SectionRef {
  offset: number;
  count: number;
}

export type Sections = Record<SectionId, SectionRef>;

export interface VerifyOptions {
  /** `'full'` always checks `body_crc32` (like `EGRESS_GUARD_VERIFY=full`); default: only when ≤ 1 MiB. */
  verify?: 'auto' | 'full';
}

export function validateFile(bytes: Uint8Array, opts: VerifyOptions = {}): Sections {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.byteLength;
  // 1.
  if (size < HEADER_SIZE) throw new FormatError('EGP_TOO_SMALL', 1, `file is ${size} bytes, a header needs 64`);
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== MAGIC[i]) throw new FormatError('EGP_BAD_MAGIC', 1, 'not a compiled egress-guard policy');
  }
  const version = view.getUint16(8, true);
  if (version !== FORMAT_VERSION) {
    throw new FormatError('EGP_BAD_VERSION', 1, `format version: expected ${FORMAT_VERSION}, got ${version}`, {
      expected: FORMAT_VERSION,
      got: version,
    });
  }
  const headerSize = view.getUint16(10, true);
  if (headerSize !== HEADER_SIZE) throw new FormatError('EGP_BAD_HEADER_SIZE', 1, `header_size ${headerSize} ≠ 64`);
  const flags = view.getUint32(12, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new FormatError('EGP_UNKNOWN_FLAGS', 1, `unknown flag bits 0x${hex(flags)}`);
  // 2.
  const fileSize = view.getBigUint64(16, true);
  if (fileSize !== BigInt(size)) {
    throw new FormatError('EGP_SIZE_MISMATCH', 2, `file_size says ${fileSize}, the file has ${size} bytes`);
  }
  const sectionCount = view.getUint32(24, true);
  const tableEnd = HEADER_SIZE + SECTION_ENTRY_SIZE * sectionCount;
  if (sectionCount < MIN_SECTIONS || sectionCount > MAX_SECTIONS || tableEnd > size) {
    throw new FormatError('EGP_BAD_SECTION_COUNT', 2, `section_count ${sectionCount} out of range`);
  }
  // 3.
  const meta = new Uint8Array(bytes.subarray(0, tableEnd)); // a copy: Buffer#slice would alias the caller's bytes
  meta.fill(0, 28, 36);
  if (crc32(meta) !== view.getUint32(28, true)) throw new FormatError('EGP_META_CRC', 3, 'header checksum mismatch');
  // 4.
  if (size <= BODY_CRC_ALWAYS_MAX || opts.verify === 'full') {
    if (crc32(bytes.subarray(tableEnd)) !== view.getUint32(32, true)) {
      throw new FormatError('EGP_BODY_CRC', 4, 'body checksum mismatch');
    }
  }
  // 5.
  const found = new Map<number, SectionRef>();
  const spans: Array<[number, number]> = [];
  let prevId = 0;
  for (let i = 0; i < sectionCount; i++) {
    const e = HEADER_SIZE + i * SECTION_ENTRY_SIZE;
    const id = view.getUint32(e, true);
    const count = view.getUint32(e + 4, true);
    const offset = view.getBigUint64(e + 8, true);
    if (id <= prevId) throw new FormatError('EGP_SECTION_ORDER', 5, `section table not sorted by id at entry ${i}`);
    prevId = id;
    if (offset % 8n !== 0n || offset < BigInt(tableEnd)) {
      throw new FormatError('EGP_SECTION_BOUNDS', 5, `section ${id}: offset ${offset} misaligned or inside the table`);
    }
    const elem = id <= 10 ? ELEMENT_SIZE[id as SectionId] : 0;
    if (elem === 0) continue; // unknown section: skipped
    const end = offset + BigInt(count) * BigInt(elem);
    if (end > BigInt(size)) throw new FormatError('EGP_SECTION_BOUNDS', 5, `section ${id} runs past the end`);
    found.set(id, { offset: Number(offset), count });
    if (end > offset) spans.push([Number(offset), Number(end)]);
  }
  for (let id = 1; id <= 10; id++) {
    if (!found.has(id)) throw new FormatError('EGP_SECTION_MISSING', 5, `required section ${id} missing`);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw new FormatError('EGP_SECTION_OVERLAP', 5, 'sections overlap');
  }
  const s = Object.fromEntries(found) as Sections;
  // 6.
  const ruleCount = view.getUint32(36, true);
  const rules = s[Section.RULES];
  if (rules.count !== ruleCount) {
    throw new FormatError('EGP_RULE_COUNT', 6, `rule_count ${ruleCount} ≠ RULES count ${rules.count}`);
  }
  for (let i = 0; i < rules.count; i++) {
    const o = rules.offset + i * 24;
    const nameOff = view.getUint32(o, true);
    const nameLen = view.getUint32(o + 4, true);
    const action = bytes[o + 8]!;
    const proto = bytes[o + 9]!;
    const kind = bytes[o + 10]!;
    const portsFirst = view.getUint32(o + 12, true);
    const portsCount = view.getUint32(o + 16, true);
    const bad =
      nameOff + nameLen > s[Section.STRINGS].count ||
      nameLen < 1 ||
      nameLen > 255 ||
      action > 1 ||
      proto < 1 ||
      proto > 3 ||
      kind < 1 ||
      kind > 4 ||
      portsFirst + portsCount > s[Section.PORTS].count;
    if (bad) throw new FormatError('EGP_BAD_RULE', 6, `rule ${i} is malformed`, { rule: i });
  }
  // 7.
  const ports = s[Section.PORTS];
  for (let i = 0; i < ports.count; i++) {
    if (view.getUint16(ports.offset + i * 4, true) > view.getUint16(ports.offset + i * 4 + 2, true)) {
      throw new FormatError('EGP_BAD_PORT_RANGE', 7, `port range ${i} has lo > hi`);
    }
  }
  // 8.
  const sets = s[Section.RULESETS];
  if (sets.count < 1 || view.getUint32(sets.offset, true) !== 0) {
    throw new FormatError('EGP_BAD_RULESETS', 8, 'RULESETS must start with the empty set (word 0 = 0)');
  }
  // 9.
  for (const [slotsId, entriesId] of [
    [Section.EXACT_SLOTS, Section.EXACT_ENTRIES],
    [Section.WILD_SLOTS, Section.WILD_ENTRIES],
  ] as const) {
    const cap = s[slotsId].count;
    const n = s[entriesId].count;
    const ok = cap === 0 ? n === 0 : (cap & (cap - 1)) === 0 && cap > n;
    if (!ok) throw new FormatError('EGP_BAD_SLOTS', 9, `section ${slotsId}: ${cap} slots for ${n} entries`);
  }
  // 10.
  const v4 = s[Section.V4_INTERVALS];
  const v6 = s[Section.V6_INTERVALS];
  if (v4.count < 1 || view.getUint32(v4.offset, true) !== 0) {
    throw new FormatError('EGP_BAD_INTERVALS', 10, 'V4_INTERVALS must start at 0');
  }
  if (v6.count < 1 || bytes.subarray(v6.offset, v6.offset + 16).some((b) => b !== 0)) {
    throw new FormatError('EGP_BAD_INTERVALS', 10, 'V6_INTERVALS must start at ::');
  }
  return s;
}

function hex(n: number): string {
  return (n >>> 0).toString(16);
}
