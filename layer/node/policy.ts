/**
 * Budgets and mode straight from the compiled policy's header (docs/FORMAT.md "Header"), without loading the policy
 * compiler: the layer bundle stays small and a 40 MB policy costs two small reads.
 *
 * Contract: `readPolicyHeader(path)` opens the file the interposer uses (`EGRESS_GUARD_POLICY`), reads the 64-byte
 * header and the section table, and checks magic, version, header size, flags, `file_size` against the real size,
 * `section_count` bounds and `meta_crc32` (which covers the budgets). Any failure throws `PolicyHeaderError` with a stable
 * code (`E_POLICY_MISSING`, `E_POLICY_MAGIC`, `E_POLICY_VERSION`, `E_POLICY_HEADER`, `E_POLICY_SIZE`, `E_POLICY_CRC`)
 * matching the interposer's `policy` events. The body CRC and section contents are the interposer's business.
 * `resolveMode(fileMode, env)` applies `EGRESS_GUARD_MODE` (`audit` | `enforce` | `off`) the way the interposer does.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export type Mode = 'audit' | 'enforce' | 'off';
export type BudgetName = 'rxBytes' | 'txBytes' | 'totalBytes';
export type Budgets = Partial<Record<BudgetName, bigint>>;

export interface PolicyHeader {
  mode: 'audit' | 'enforce';
  budgets: Budgets;
}

export type PolicyErrorCode =
  | 'E_POLICY_MISSING'
  | 'E_POLICY_MAGIC'
  | 'E_POLICY_VERSION'
  | 'E_POLICY_HEADER'
  | 'E_POLICY_SIZE'
  | 'E_POLICY_CRC';

export class PolicyHeaderError extends Error {
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'PolicyHeaderError';
  }
}

const MAGIC = Buffer.from([0x45, 0x47, 0x52, 0x44, 0x50, 0x4f, 0x4c, 0x01]); // "EGRDPOL\x01"
const NONE = 0xffff_ffff_ffff_ffffn;
const KNOWN_FLAGS = 0b11;

export function readPolicyHeader(path: string): PolicyHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new PolicyHeaderError(
      'E_POLICY_MISSING',
      `cannot open the compiled policy ${path} (${(e as NodeJS.ErrnoException).code}); check EGRESS_GUARD_POLICY`,
      path,
    );
  }
  try {
    const size = fstatSync(fd).size;
    const fail = (code: PolicyErrorCode, what: string): never => {
      throw new PolicyHeaderError(code, `${path}: ${what}; recompile it with \`egress-guard compile\``, path);
    };
    if (size < 64) fail('E_POLICY_HEADER', `file is ${size} bytes, shorter than the 64-byte header`);
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    if (!h.subarray(0, 8).equals(MAGIC)) fail('E_POLICY_MAGIC', 'not a compiled egress-guard policy (bad magic)');
    const version = h.readUInt16LE(8);
    if (version !== 1) fail('E_POLICY_VERSION', `format version expected 1, got ${version}`);
    if (h.readUInt16LE(10) !== 64) fail('E_POLICY_HEADER', `header_size expected 64, got ${h.readUInt16LE(10)}`);
    const flags = h.readUInt32LE(12);
    if ((flags & ~KNOWN_FLAGS) !== 0) fail('E_POLICY_HEADER', `unknown flag bits 0x${flags.toString(16)}`);
    const fileSize = h.readBigUInt64LE(16);
    if (fileSize !== BigInt(size)) fail('E_POLICY_SIZE', `file_size says ${fileSize} bytes but the file has ${size}`);
    const sections = h.readUInt32LE(24);
    if (sections < 10 || sections > 64 || 64 + 16 * sections > size) {
      fail('E_POLICY_HEADER', `section_count ${sections} out of range`);
    }
    const meta = Buffer.alloc(64 + 16 * sections);
    readSync(fd, meta, 0, meta.length, 0);
    const want = meta.readUInt32LE(28);
    meta.fill(0, 28, 36);
    if (crc32(meta) !== want) fail('E_POLICY_CRC', 'header checksum (meta_crc32) does not match');
    const budgets: Budgets = {};
    const rx = h.readBigUInt64LE(40);
    const tx = h.readBigUInt64LE(48);
    const total = h.readBigUInt64LE(56);
    if (rx !== NONE) budgets.rxBytes = rx;
    if (tx !== NONE) budgets.txBytes = tx;
    if (total !== NONE) budgets.totalBytes = total;
    return { mode: flags & 1 ? 'enforce' : 'audit', budgets };
  } finally {
    closeSync(fd);
  }
}

/**
 * The effective mode: `EGRESS_GUARD_MODE` when it is one of the three words (case-insensitive, trimmed), else the
 * file's. Returns `invalid` with the value when the variable is set to something else (the caller logs it once).
 */
export function resolveMode(
  fileMode: 'audit' | 'enforce',
  envValue: string | undefined,
): { mode: Mode; invalid?: string } {
  if (envValue === undefined || envValue.trim() === '') return { mode: fileMode };
  const v = envValue.trim().toLowerCase();
  if (v === 'audit' || v === 'enforce' || v === 'off') return { mode: v };
  return { mode: fileMode, invalid: envValue };
}
