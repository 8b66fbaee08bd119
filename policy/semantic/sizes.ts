/**
 * Byte sizes for budgets: a non-negative integer (bytes) or a string `<number>[ ]<unit>` where unit is one of
 * B, KB/kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024); no unit = bytes. Fractions are
 * allowed (`1.5GiB`) and rounded down to whole bytes. Units are case-sensitive except `kB`: `mb` is an error
 * (millibits are not a size) so that a typo cannot silently change a budget by a factor of 1000.
 */
export const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

export type SizeResult = { ok: number } | { code: string; message: string };

export function parseSize(spec: number | string): SizeResult {
  if (typeof spec === 'number') {
    return Number.isSafeInteger(spec) && spec >= 0
      ? { ok: spec }
      : { code: 'SIZE_INVALID', message: `size ${spec} must be a whole number of bytes` };
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$/.exec(spec);
  if (!m) {
    return {
      code: 'SIZE_SYNTAX',
      message: `size ${JSON.stringify(spec)} is not a number with an optional unit: write e.g. 50MiB or 5000000`,
    };
  }
  const unit = m[2] === '' ? 'B' : m[2]!;
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) {
    return {
      code: 'SIZE_UNKNOWN_UNIT',
      message: `unknown size unit "${unit}": use one of ${Object.keys(SIZE_UNITS).join(', ')}`,
    };
  }
  const bytes = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(bytes)) {
    return { code: 'SIZE_TOO_LARGE', message: `size ${JSON.stringify(spec)} is larger than 2^53 bytes` };
  }
  return { ok: bytes };
}
