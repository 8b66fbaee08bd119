/**
 * `FormatError`: a compiled policy file failed one of the reader checks of docs/FORMAT.md ("How a reader
 * validates"). `code` is stable (tests and tools match on it); `check` is the number of the check on that page.
 */
export type FormatErrorCode =
  | 'EGP_TOO_SMALL'
  | 'EGP_BAD_MAGIC'
  | 'EGP_BAD_VERSION'
  | 'EGP_BAD_HEADER_SIZE'
  | 'EGP_UNKNOWN_FLAGS'
  | 'EGP_SIZE_MISMATCH'
  | 'EGP_BAD_SECTION_COUNT'
  | 'EGP_META_CRC'
  | 'EGP_BODY_CRC'
  | 'EGP_SECTION_ORDER'
  | 'EGP_SECTION_MISSING'
  | 'EGP_SECTION_BOUNDS'
  | 'EGP_SECTION_OVERLAP'
  | 'EGP_RULE_COUNT'
  | 'EGP_BAD_RULE'
  | 'EGP_BAD_PORT_RANGE'
  | 'EGP_BAD_RULESETS'
  | 'EGP_BAD_SLOTS'
  | 'EGP_BAD_INTERVALS';

export class FormatError extends Error {
  override readonly name = 'FormatError';
  constructor(
    readonly code: FormatErrorCode,
    readonly check: number,
    message: string,
    readonly detail: Readonly<Record<string, number | string>> = {},
  ) {
    super(`${code}: ${message}`);
  }
}
