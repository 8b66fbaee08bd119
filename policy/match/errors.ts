/**
 * `FormatError`: a compiled policy file failed one of the reader checks of docs/FORMAT.md ("How a reader
 * validates"). `code` is stable (tests and tools match on it) and the C reader reports the same one for the same
 * file (contracts/errors.yaml); `check` is the number of the check on that page.
 */
import { POLICY_READER_ERRORS, type PolicyReaderErrorCode } from '../gen/errors.js';

export type FormatErrorCode = PolicyReaderErrorCode;

export class FormatError extends Error {
  override readonly name = 'FormatError';
  readonly check: number;
  constructor(
    readonly code: FormatErrorCode,
    message: string,
    readonly detail: Readonly<Record<string, number | string>> = {},
  ) {
    super(`${code}: ${message}`);
    this.check = POLICY_READER_ERRORS[code].check;
  }
}
