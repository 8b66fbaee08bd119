/**
 * Constants of the compiled policy format (`.egp`) version 1, exactly as docs/FORMAT.md defines them.
 * Both the writer (`./writer.ts`) and the reference reader (`../match/`) import these; nothing else defines them.
 */

/** `"EGRDPOL\x01"` */
export const MAGIC = Uint8Array.of(0x45, 0x47, 0x52, 0x44, 0x50, 0x4f, 0x4c, 0x01);
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 64;
export const SECTION_ENTRY_SIZE = 16;
export const MIN_SECTIONS = 10;
export const MAX_SECTIONS = 64;
/** Above this size a reader checks `body_crc32` only when asked to (`EGRESS_GUARD_VERIFY=full`). */
export const BODY_CRC_ALWAYS_MAX = 1024 * 1024;

export const FLAG_ENFORCE = 1;
export const FLAG_ALLOW_LOOPBACK = 2;
export const KNOWN_FLAGS = FLAG_ENFORCE | FLAG_ALLOW_LOOPBACK;

/** `0xFFFFFFFFFFFFFFFF`: no budget. */
export const NO_BUDGET = 0xffff_ffff_ffff_ffffn;

export const Section = {
  RULES: 1,
  PORTS: 2,
  RULESETS: 3,
  STRINGS: 4,
  EXACT_SLOTS: 5,
  EXACT_ENTRIES: 6,
  WILD_SLOTS: 7,
  WILD_ENTRIES: 8,
  V4_INTERVALS: 9,
  V6_INTERVALS: 10,
} as const;
export type SectionId = (typeof Section)[keyof typeof Section];

/** Element size in bytes of each known section, indexed by id. */
export const ELEMENT_SIZE: Readonly<Record<SectionId, number>> = {
  1: 24,
  2: 4,
  3: 4,
  4: 1,
  5: 4,
  6: 16,
  7: 4,
  8: 16,
  9: 8,
  10: 24,
};

export const RULE_SIZE = 24;
export const ENTRY_SIZE = 16;

export const Action = { ALLOW: 0, DENY: 1 } as const;
export const Proto = { TCP: 1, UDP: 2, BOTH: 3 } as const;
export const Kind = { HOST: 1, WILDCARD: 2, IP: 3, NAMES_FILE: 4 } as const;

export const MAX_NAME_LEN = 253;
export const MAX_RULE_NAME_LEN = 255;
