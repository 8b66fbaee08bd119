/**
 * Names files (`hosts_file:`): one name per line, `#` starts a comment (whole line or after the name), blank lines
 * ignored, a UTF-8 BOM ignored, CRLF accepted. A line is an exact name or `*.suffix`, with the same rules as
 * `host:` (normalised: lower-case, trailing dot removed, IDN → punycode).
 *
 * Built for threat-feed sizes (1,000,000 names): the file is scanned as bytes, ASCII names are lower-cased straight
 * into the compiler's `NameList` arenas (no string or object per name); only a line with non-ASCII bytes takes the
 * slow path through `normalizeName`. Errors are reported as `thatfile:line:col`, at most `MAX_ERRORS` per file
 * (then one NAMES_FILE_TOO_MANY_ERRORS).
 */
import type { Diagnostic } from '../diagnostics.js';
import type { NameList } from '../format/ir.js';
import { nameProblem, normalizeName } from '../names/normalize.js';
import { parseIPv4 } from '../net/ip.js';
import { WILDCARD_FORMS } from './target.js';

export const MAX_ERRORS = 50;

export interface NamesFileResult {
  exact: number;
  wild: number;
  diagnostics: Diagnostic[];
}

const C = { TAB: 9, LF: 10, CR: 13, SPACE: 32, HASH: 35, STAR: 42, DASH: 45, DOT: 46, UNDERSCORE: 95 } as const;

/** Valid byte of an ASCII name (after lower-casing): a-z 0-9 - _ . */
const NAME_BYTE = new Uint8Array(256);
for (let b = 0x61; b <= 0x7a; b++) NAME_BYTE[b] = 1;
for (let b = 0x30; b <= 0x39; b++) NAME_BYTE[b] = 1;
NAME_BYTE[C.DASH] = 1;
NAME_BYTE[C.UNDERSCORE] = 1;
NAME_BYTE[C.DOT] = 1;

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder();

export function scanNamesFile(
  data: Uint8Array,
  display: string,
  rule: number,
  exact: NameList,
  wild: NameList,
): NamesFileResult {
  const diagnostics: Diagnostic[] = [];
  let errors = 0;
  let nExact = 0;
  let nWild = 0;
  const scratch = new Uint8Array(512);
  let pos = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
  let lineNo = 0;

  let firstUnreported = 0;
  const report = (code: string, message: string, lineStart: number, lineEnd: number, at: number, len: number) => {
    errors++;
    if (errors === MAX_ERRORS + 1) firstUnreported = lineNo;
    if (errors > MAX_ERRORS) return;
    const text = utf8.decode(data.subarray(lineStart, lineEnd));
    const col = utf8.decode(data.subarray(lineStart, at)).length + 1;
    diagnostics.push({
      code,
      message,
      file: display,
      line: lineNo,
      col,
      severity: 'error',
      sourceLine: text,
      length: Math.max(1, len),
    });
  };

  while (pos < data.length) {
    lineNo++;
    const lineStart = pos;
    let lineEnd = data.indexOf(C.LF, pos);
    if (lineEnd < 0) lineEnd = data.length;
    pos = lineEnd + 1;
    let end = lineEnd;
    if (end > lineStart && data[end - 1] === C.CR) end--;
    let s = lineStart;
    while (s < end && (data[s] === C.SPACE || data[s] === C.TAB)) s++;
    if (s === end || data[s] === C.HASH) continue;
    let e = s;
    while (e < end && data[e] !== C.SPACE && data[e] !== C.TAB && data[e] !== C.HASH) e++;
    // after the name only blanks and an optional comment may follow
    let t = e;
    while (t < end && (data[t] === C.SPACE || data[t] === C.TAB)) t++;
    if (t < end && data[t] !== C.HASH) {
      report('NAMES_FILE_SYNTAX', 'one name per line: put each name on its own line', lineStart, end, t, end - t);
      continue;
    }
    let start = s;
    let isWild = false;
    if (data[s] === C.STAR) {
      if (e - s < 3 || data[s + 1] !== C.DOT) {
        report('WILDCARD_FORM', `bad wildcard: ${WILDCARD_FORMS}`, lineStart, end, s, e - s);
        continue;
      }
      isWild = true;
      start = s + 2;
    }
    // fast path: ASCII, lower-cased into scratch
    let len = 0;
    let ascii = true;
    let bad = -1;
    let star = -1;
    for (let i = start; i < e; i++) {
      let b = data[i]!;
      if (b >= 0x80) {
        ascii = false;
        break;
      }
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (!NAME_BYTE[b]) {
        if (b === C.STAR && star < 0) star = i;
        if (bad < 0) bad = i;
      }
      if (len < scratch.length) scratch[len] = b;
      len++;
    }
    let key: Uint8Array;
    let keyLen: number;
    if (ascii) {
      if (star >= 0) {
        report('WILDCARD_FORM', `bad wildcard: ${WILDCARD_FORMS}`, lineStart, end, star, 1);
        continue;
      }
      if (bad >= 0) {
        const ch = String.fromCharCode(data[bad]!);
        const hint = ch === ':' ? ' (ports and IPv6 addresses do not belong in a names file)' : '';
        report(
          'HOST_INVALID',
          `character ${JSON.stringify(ch)} cannot appear in a host name (allowed: letters, digits, \`-\`, \`_\`, \`.\`)${hint}`,
          lineStart,
          end,
          bad,
          1,
        );
        continue;
      }
      if (len > 0 && scratch[len - 1] === C.DOT && len <= scratch.length) len--;
      if (len > scratch.length) len = scratch.length; // too long: caught below
      key = scratch;
      keyLen = len;
    } else {
      const raw = utf8.decode(data.subarray(start, e));
      key = new TextEncoder().encode(normalizeName(raw));
      keyLen = key.length;
    }
    const problem = ascii ? checkLabels(key, keyLen) : checkIdn(key, data.subarray(start, e));
    if (problem) {
      report(problem.code, problem.message, lineStart, end, s, e - s);
      continue;
    }
    if (!isWild && allDigitsAndDots(key, keyLen) && parseIPv4(latin1.decode(key.subarray(0, keyLen))) !== null) {
      report(
        'NAMES_FILE_IP',
        'an IP address is not a name: put addresses in `ip:` or `cidr:` rules',
        lineStart,
        end,
        s,
        e - s,
      );
      continue;
    }
    if (isWild) {
      wild.addBytes(key, 0, keyLen, rule);
      nWild++;
    } else {
      exact.addBytes(key, 0, keyLen, rule);
      nExact++;
    }
  }
  if (errors > MAX_ERRORS) {
    diagnostics.push({
      code: 'NAMES_FILE_TOO_MANY_ERRORS',
      message: `${errors - MAX_ERRORS} more errors from this line on are not shown (fix the ones above first)`,
      file: display,
      line: firstUnreported,
      col: 1,
      severity: 'error',
    });
  }
  return { exact: nExact, wild: nWild, diagnostics };
}

function allDigitsAndDots(key: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) {
    const b = key[i]!;
    if (b !== C.DOT && (b < 0x30 || b > 0x39)) return false;
  }
  return true;
}

type Problem = { code: string; message: string } | null;

/** Slow path for a line with non-ASCII bytes: `key` is its normalised form. */
function checkIdn(key: Uint8Array, raw: Uint8Array): Problem {
  const p = nameProblem(utf8.decode(key), utf8.decode(raw));
  if (p === 'idn') {
    return { code: 'HOST_IDN_INVALID', message: 'internationalised name that cannot be converted to punycode' };
  }
  if (p === 'too-long') return { code: 'HOST_TOO_LONG', message: 'name longer than 253 characters' };
  if (p === 'label-too-long') return { code: 'HOST_LABEL_TOO_LONG', message: 'a label is longer than 63 characters' };
  if (p) return { code: 'HOST_INVALID', message: `invalid host name (${p})` };
  return null;
}

/** Lengths of a lower-cased ASCII key whose bytes are already known to be valid name characters. */
function checkLabels(key: Uint8Array, len: number): Problem {
  if (len === 0) return { code: 'HOST_INVALID', message: 'empty name' };
  if (len > 253) return { code: 'HOST_TOO_LONG', message: 'name longer than 253 characters' };
  let labelStart = 0;
  for (let i = 0; i <= len; i++) {
    if (i === len || key[i] === C.DOT) {
      const l = i - labelStart;
      if (l === 0) {
        return { code: 'HOST_INVALID', message: 'empty label (two dots in a row, or a leading dot)' };
      }
      if (l > 63) return { code: 'HOST_LABEL_TOO_LONG', message: 'a label is longer than 63 characters' };
      labelStart = i + 1;
    }
  }
  return null;
}
