/**
 * The structural checks a reader runs before any lookup (docs/FORMAT.md, "How a reader validates", checks 1–10), in
 * that order, one named step per group of checks. Returns the located sections; throws `FormatError` with the stable
 * code of the first failed check — the code the C reader (native/src/egp_load.c) reports for the same file
 * (contracts/errors.yaml). O(rules + ports), never O(names): per-entry checks happen at use (see `./compiled.ts`).
 */

import { crc32 } from '../format/crc32.js';
import {
  Action,
  BODY_CRC_ALWAYS_MAX,
  ELEMENT_SIZE,
  FORMAT_VERSION,
  HEADER,
  HEADER_SIZE,
  Kind,
  KNOWN_FLAGS,
  MAGIC,
  MAX_RULE_NAME_LEN,
  MAX_SECTIONS,
  MIN_FORMAT_VERSION,
  MIN_SECTIONS,
  NAME_LENS_COUNT,
  Proto,
  RULE_SIZE,
  SECTION_ALIGN,
  SECTION_ENTRY_SIZE,
  SECTION_SINCE,
  Section,
  type SectionId,
  V4_FANOUT,
  V6_FANOUT,
} from '../gen/format.js';
import { FormatError } from './errors.js';
import { treeShape } from './trees.js';

export interface SectionRef {
  offset: number;
  count: number;
}

/** Every section the file's version has; those it has not (11–16 in version 1, 14–16 in 2) are `{offset: 0, count: 0}`. */
export type Sections = Record<SectionId, SectionRef> & { version: number };

export interface VerifyOptions {
  /** `'full'` always checks `body_crc32` (like `EGRESS_GUARD_VERIFY=full`); default: only when ≤ 1 MiB. */
  verify?: 'auto' | 'full';
}

export function validateFile(bytes: Uint8Array, opts: VerifyOptions = {}): Sections {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tableEnd = checkHeader(bytes, view); // 1, 2
  checkChecksums(bytes, view, tableEnd, opts); // 3, 4
  const version = view.getUint16(HEADER.version.offset, true);
  const s = locateSections(view, bytes.byteLength, tableEnd, version); // 5
  checkRules(bytes, view, s); // 6, 7
  checkTables(bytes, view, s); // 8, 9, 10
  return s;
}

/** Checks 1 and 2: size, magic, version, header size, flags, file size, section count. Returns the table's end. */
function checkHeader(bytes: Uint8Array, view: DataView): number {
  const size = bytes.byteLength;
  if (size < HEADER_SIZE) {
    throw new FormatError('E_POLICY_TOO_SMALL', `file is ${size} bytes, a header needs 64`, {
      expected: HEADER_SIZE,
      got: size,
    });
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[HEADER.magic.offset + i] !== MAGIC[i]) {
      throw new FormatError('E_POLICY_MAGIC', 'not a compiled egress-guard policy');
    }
  }
  const version = view.getUint16(HEADER.version.offset, true);
  if (version < MIN_FORMAT_VERSION || version > FORMAT_VERSION) {
    throw new FormatError('E_POLICY_VERSION', `format version: expected ${FORMAT_VERSION}, got ${version}`, {
      expected: FORMAT_VERSION,
      got: version,
    });
  }
  const headerSize = view.getUint16(HEADER.header_size.offset, true);
  if (headerSize !== HEADER_SIZE) {
    throw new FormatError('E_POLICY_HEADER_SIZE', `header_size ${headerSize} ≠ 64`, {
      expected: HEADER_SIZE,
      got: headerSize,
    });
  }
  const flags = view.getUint32(HEADER.flags.offset, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new FormatError('E_POLICY_FLAGS', `unknown flag bits 0x${hex(flags)}`);
  const fileSize = view.getBigUint64(HEADER.file_size.offset, true);
  if (fileSize !== BigInt(size)) {
    throw new FormatError('E_POLICY_SIZE_MISMATCH', `file_size says ${fileSize}, the file has ${size} bytes`, {
      expected: size,
      got: fileSize.toString(),
    });
  }
  const sectionCount = view.getUint32(HEADER.section_count.offset, true);
  const tableEnd = HEADER_SIZE + SECTION_ENTRY_SIZE * sectionCount;
  if (sectionCount < MIN_SECTIONS || sectionCount > MAX_SECTIONS || tableEnd > size) {
    throw new FormatError('E_POLICY_SECTION_COUNT', `section_count ${sectionCount} out of range`);
  }
  return tableEnd;
}

/** Checks 3 and 4: `meta_crc32` always, `body_crc32` up to 1 MiB (or always with `verify: 'full'`). */
function checkChecksums(bytes: Uint8Array, view: DataView, tableEnd: number, opts: VerifyOptions): void {
  const meta = new Uint8Array(bytes.subarray(0, tableEnd)); // a copy: Buffer#slice would alias the caller's bytes
  meta.fill(0, HEADER.meta_crc32.offset, HEADER.body_crc32.offset + HEADER.body_crc32.size);
  const metaStored = view.getUint32(HEADER.meta_crc32.offset, true);
  const metaComputed = crc32(meta);
  if (metaComputed !== metaStored) {
    throw new FormatError('E_POLICY_META_CRC', 'header checksum mismatch', { expected: metaStored, got: metaComputed });
  }
  if (bytes.byteLength <= BODY_CRC_ALWAYS_MAX || opts.verify === 'full') {
    const bodyStored = view.getUint32(HEADER.body_crc32.offset, true);
    const bodyComputed = crc32(bytes.subarray(tableEnd));
    if (bodyComputed !== bodyStored) {
      throw new FormatError('E_POLICY_BODY_CRC', 'body checksum mismatch', { expected: bodyStored, got: bodyComputed });
    }
  }
}

/**
 * Check 5: table order, each known section's bounds, the required ids, then overlaps. Ids the file's version does not
 * have (unknown ones, 11–16 in version 1, 14–16 in version 2) are skipped.
 */
function locateSections(view: DataView, size: number, tableEnd: number, version: number): Sections {
  const found = new Map<number, SectionRef>();
  const spans: Array<[number, number]> = [];
  const sectionCount = (tableEnd - HEADER_SIZE) / SECTION_ENTRY_SIZE;
  let prevId = 0;
  for (let i = 0; i < sectionCount; i++) {
    const e = HEADER_SIZE + i * SECTION_ENTRY_SIZE;
    const id = view.getUint32(e, true);
    const count = view.getUint32(e + 4, true);
    const offset = view.getBigUint64(e + 8, true);
    if (id <= prevId) throw new FormatError('E_POLICY_SECTION_ORDER', `section table not sorted by id at entry ${i}`);
    prevId = id;
    if (offset % BigInt(SECTION_ALIGN) !== 0n || offset < BigInt(tableEnd)) {
      throw new FormatError(
        'E_POLICY_SECTION_BOUNDS',
        `section ${id}: offset ${offset} misaligned or inside the table`,
      );
    }
    const elem = ELEMENT_SIZE[id as SectionId];
    if (elem === undefined || SECTION_SINCE[id as SectionId] > version) continue; // not of this version: skipped
    const end = offset + BigInt(count) * BigInt(elem);
    if (end > BigInt(size)) throw new FormatError('E_POLICY_SECTION_BOUNDS', `section ${id} runs past the end`);
    found.set(id, { offset: Number(offset), count });
    if (end > offset) spans.push([Number(offset), Number(end)]);
  }
  for (const id of Object.values(Section)) {
    if (SECTION_SINCE[id] > version) found.set(id, { offset: 0, count: 0 });
    else if (!found.has(id)) throw new FormatError('E_POLICY_SECTION_MISSING', `required section ${id} missing`);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw new FormatError('E_POLICY_SECTION_OVERLAP', 'sections overlap');
  }
  return { ...(Object.fromEntries(found) as Record<SectionId, SectionRef>), version };
}

/** Checks 6 and 7: `rule_count`, every RULES record, every port range. */
function checkRules(bytes: Uint8Array, view: DataView, s: Sections): void {
  const ruleCount = view.getUint32(HEADER.rule_count.offset, true);
  const rules = s[Section.RULES];
  if (rules.count !== ruleCount) {
    throw new FormatError('E_POLICY_RULE_COUNT', `rule_count ${ruleCount} ≠ RULES count ${rules.count}`, {
      expected: rules.count,
      got: ruleCount,
    });
  }
  for (let i = 0; i < rules.count; i++) {
    const o = rules.offset + i * RULE_SIZE;
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
      nameLen > MAX_RULE_NAME_LEN ||
      action > Action.DENY ||
      proto < Proto.TCP ||
      proto > Proto.BOTH ||
      kind < Kind.HOST ||
      kind > Kind.NAMES_FILE ||
      portsFirst + portsCount > s[Section.PORTS].count;
    if (bad) throw new FormatError('E_POLICY_RULE', `rule ${i} is malformed`, { rule: i });
  }
  const ports = s[Section.PORTS];
  for (let i = 0; i < ports.count; i++) {
    if (view.getUint16(ports.offset + i * 4, true) > view.getUint16(ports.offset + i * 4 + 2, true)) {
      throw new FormatError('E_POLICY_PORT_RANGE', `port range ${i} has lo > hi`);
    }
  }
}

/** Checks 8, 9 and 10: the empty rule set first, hash slot counts (version 3: the name tables' shapes), interval
 * tables starting at 0 / `::`. */
function checkTables(bytes: Uint8Array, view: DataView, s: Sections): void {
  const sets = s[Section.RULESETS];
  if (sets.count < 1 || view.getUint32(sets.offset, true) !== 0) {
    throw new FormatError('E_POLICY_RULESETS', 'RULESETS must start with the empty set (word 0 = 0)');
  }
  for (const [slotsId, entriesId] of [
    [Section.EXACT_SLOTS, Section.EXACT_ENTRIES],
    [Section.WILD_SLOTS, Section.WILD_ENTRIES],
  ] as const) {
    const cap = s[slotsId].count;
    const n = s[entriesId].count;
    const ok = cap === 0 ? n === 0 : (cap & (cap - 1)) === 0 && cap > n && s.version < 3;
    if (!ok) throw new FormatError('E_POLICY_SLOTS', `section ${slotsId}: ${cap} slots for ${n} entries`);
  }
  if (s.version >= 3) {
    // version 3: the name tables are sections 14-16 (sections 5-8 are empty, checked above)
    for (const id of [Section.EXACT_TABLE, Section.WILD_TABLE] as const) {
      const cap = s[id].count;
      if ((cap & (cap - 1)) !== 0) throw new FormatError('E_POLICY_SLOTS', `section ${id}: ${cap} slots`);
    }
    if (s[Section.NAME_LENS].count !== NAME_LENS_COUNT) {
      throw new FormatError('E_POLICY_SLOTS', `NAME_LENS has ${s[Section.NAME_LENS].count} elements, not 2`);
    }
  }
  const v4 = s[Section.V4_INTERVALS];
  const v6 = s[Section.V6_INTERVALS];
  if (v4.count < 1 || view.getUint32(v4.offset, true) !== 0) {
    throw new FormatError('E_POLICY_INTERVALS', 'V4_INTERVALS must start at 0');
  }
  if (v6.count < 1 || bytes.subarray(v6.offset, v6.offset + 16).some((b) => b !== 0)) {
    throw new FormatError('E_POLICY_INTERVALS', 'V6_INTERVALS must start at ::');
  }
  if (s.version < 2) return;
  // version 2 and later: the trees' sizes follow from the interval counts; their keys are read bounds-checked
  const v4Keys = treeShape(v4.count, V4_FANOUT).nodes * V4_FANOUT;
  if (s[Section.V4_INDEX].count !== v4Keys) {
    throw new FormatError('E_POLICY_INTERVALS', `V4_INDEX has ${s[Section.V4_INDEX].count} keys, expected ${v4Keys}`);
  }
  if (s[Section.V6_KEYS].count !== v6.count) {
    throw new FormatError('E_POLICY_INTERVALS', 'V6_KEYS count differs from V6_INTERVALS');
  }
  const v6Keys = treeShape(v6.count, V6_FANOUT).nodes * V6_FANOUT;
  if (s[Section.V6_INDEX].count !== v6Keys) {
    throw new FormatError('E_POLICY_INTERVALS', `V6_INDEX has ${s[Section.V6_INDEX].count} keys, expected ${v6Keys}`);
  }
  if (view.getBigUint64(s[Section.V6_KEYS].offset, true) !== 0n) {
    throw new FormatError('E_POLICY_INTERVALS', 'V6_KEYS must start at 0');
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16);
}
