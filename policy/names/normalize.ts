/**
 * Name normalisation shared by the compiler and the reference matcher (docs/POLICY.md, "Names"):
 * - ASCII letters are lower-cased (only ASCII: the C reader does the same);
 * - one trailing dot is removed (`example.com.` = `example.com`);
 * - a name with non-ASCII characters is converted to punycode with `node:url` `domainToASCII` (UTS #46, as browsers
 *   do); when that conversion fails the name is returned ASCII-lower-cased as is (it then matches no rule).
 * ASCII names are never passed to `domainToASCII`, which would rewrite things like `0x7f.1` into an IPv4 address.
 */
import { domainToASCII } from 'node:url';

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

export function normalizeName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (isAscii(n)) return asciiLower(n);
  const a = domainToASCII(n);
  return a === '' ? asciiLower(n) : a;
}

/** Why a normalised name is not a valid DNS name, or null when it is. */
export type NameProblem = 'empty' | 'too-long' | 'empty-label' | 'label-too-long' | 'bad-char' | 'idn';

const LABEL_CHAR = /^[a-z0-9_-]+$/;

/**
 * Checks a normalised name: 1–253 bytes, labels of 1–63 bytes made of `a-z 0-9 - _`. `raw` is the text before
 * normalisation (used to tell a failed IDN conversion apart from a plain bad character).
 */
export function nameProblem(normalised: string, raw = normalised): NameProblem | null {
  if (normalised.length === 0) return 'empty';
  if (!isAscii(normalised)) return isAscii(raw) ? 'bad-char' : 'idn';
  if (normalised.length > 253) return 'too-long';
  for (const label of normalised.split('.')) {
    if (label.length === 0) return 'empty-label';
    if (label.length > 63) return 'label-too-long';
    if (!LABEL_CHAR.test(label)) return 'bad-char';
  }
  return null;
}
