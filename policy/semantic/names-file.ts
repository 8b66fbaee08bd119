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
  const scan = new Scanner(data, display);
  let nExact = 0;
  let nWild = 0;
  while (scan.nextLine()) {
    if (!scan.findName() || !scan.normalise()) continue;
    if (scan.isWild) {
      wild.addBytes(scan.key, 0, scan.keyLen, rule);
      nWild++;
    } else {
      exact.addBytes(scan.key, 0, scan.keyLen, rule);
      nExact++;
    }
  }
  return { exact: nExact, wild: nWild, diagnostics: scan.finish() };
}

/**
 * One pass over a names file, line by line, with no allocation per ASCII name: the current line, its name and the
 * name's normalised key are fields, overwritten for each line. Each step that finds a problem reports it (at most
 * `MAX_ERRORS`) and returns false, which skips the line.
 */
class Scanner {
  private readonly diagnostics: Diagnostic[] = [];
  private errors = 0;
  private firstUnreported = 0;
  private readonly scratch = new Uint8Array(512);
  private pos: number;
  private lineNo = 0;
  /** the current line: [lineStart, end) without the line break (and CR) */
  private lineStart = 0;
  private end = 0;
  /** the name on it: [s, e), and where its labels start (after `*.` for a wildcard) */
  private s = 0;
  private e = 0;
  private nameStart = 0;
  isWild = false;
  /** the normalised name: key[0, keyLen) */
  key: Uint8Array = this.scratch;
  keyLen = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly display: string,
  ) {
    this.pos = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0; // a BOM
  }

  /** Moves to the next line (CRLF accepted); false at the end of the file. */
  nextLine(): boolean {
    const data = this.data;
    if (this.pos >= data.length) return false;
    this.lineNo++;
    this.lineStart = this.pos;
    let lineEnd = data.indexOf(C.LF, this.pos);
    if (lineEnd < 0) lineEnd = data.length;
    this.pos = lineEnd + 1;
    this.end = lineEnd > this.lineStart && data[lineEnd - 1] === C.CR ? lineEnd - 1 : lineEnd;
    return true;
  }

  /** Finds the line's name (false: a blank or comment line, or a syntax error, reported) and whether it is `*.x`. */
  findName(): boolean {
    const { data, end } = this;
    let s = this.lineStart;
    while (s < end && (data[s] === C.SPACE || data[s] === C.TAB)) s++;
    if (s === end || data[s] === C.HASH) return false;
    let e = s;
    while (e < end && data[e] !== C.SPACE && data[e] !== C.TAB && data[e] !== C.HASH) e++;
    // after the name only blanks and an optional comment may follow
    let t = e;
    while (t < end && (data[t] === C.SPACE || data[t] === C.TAB)) t++;
    if (t < end && data[t] !== C.HASH) {
      return this.report('NAMES_FILE_SYNTAX', 'one name per line: put each name on its own line', t, end - t);
    }
    this.s = s;
    this.e = e;
    this.isWild = data[s] === C.STAR;
    this.nameStart = this.isWild ? s + 2 : s;
    if (this.isWild && (e - s < 3 || data[s + 1] !== C.DOT)) {
      return this.report('WILDCARD_FORM', `bad wildcard: ${WILDCARD_FORMS}`, s, e - s);
    }
    return true;
  }

  /** Normalises the name into `key` and checks it as `host:` would (false: a problem, reported). */
  normalise(): boolean {
    const ascii = this.asciiKey();
    if (ascii === 'reported') return false;
    if (ascii === 'not ascii') {
      this.key = new TextEncoder().encode(normalizeName(utf8.decode(this.data.subarray(this.nameStart, this.e))));
      this.keyLen = this.key.length;
    }
    const problem =
      ascii === 'ok'
        ? checkLabels(this.key, this.keyLen)
        : checkIdn(this.key, this.data.subarray(this.nameStart, this.e));
    if (problem) return this.report(problem.code, problem.message, this.s, this.e - this.s);
    const { key, keyLen } = this;
    if (!this.isWild && allDigitsAndDots(key, keyLen) && parseIPv4(latin1.decode(key.subarray(0, keyLen))) !== null) {
      return this.report(
        'NAMES_FILE_IP',
        'an IP address is not a name: put addresses in `ip:` or `cidr:` rules',
        this.s,
        this.e - this.s,
      );
    }
    return true;
  }

  /** The fast path: an ASCII name lower-cased into the scratch buffer, one trailing dot dropped. */
  private asciiKey(): 'ok' | 'not ascii' | 'reported' {
    const { data, scratch } = this;
    let len = 0;
    let bad = -1;
    let star = -1;
    for (let i = this.nameStart; i < this.e; i++) {
      let b = data[i]!;
      if (b >= 0x80) return 'not ascii';
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (!NAME_BYTE[b]) {
        if (b === C.STAR && star < 0) star = i;
        if (bad < 0) bad = i;
      }
      if (len < scratch.length) scratch[len] = b;
      len++;
    }
    if (star >= 0) {
      this.report('WILDCARD_FORM', `bad wildcard: ${WILDCARD_FORMS}`, star, 1);
      return 'reported';
    }
    if (bad >= 0) {
      const ch = String.fromCharCode(data[bad]!);
      const hint = ch === ':' ? ' (ports and IPv6 addresses do not belong in a names file)' : '';
      this.report(
        'HOST_INVALID',
        `character ${JSON.stringify(ch)} cannot appear in a host name (allowed: letters, digits, \`-\`, \`_\`, \`.\`)${hint}`,
        bad,
        1,
      );
      return 'reported';
    }
    if (len > 0 && scratch[len - 1] === C.DOT && len <= scratch.length) len--;
    if (len > scratch.length) len = scratch.length; // too long: caught by checkLabels
    this.key = scratch;
    this.keyLen = len;
    return 'ok';
  }

  /** Records an error at byte `at` of the current line (`len` bytes long); returns false (the line is skipped). */
  private report(code: string, message: string, at: number, len: number): false {
    this.errors++;
    if (this.errors === MAX_ERRORS + 1) this.firstUnreported = this.lineNo;
    if (this.errors > MAX_ERRORS) return false;
    const { data, lineStart } = this;
    this.diagnostics.push({
      code,
      message,
      file: this.display,
      line: this.lineNo,
      col: utf8.decode(data.subarray(lineStart, at)).length + 1,
      severity: 'error',
      sourceLine: utf8.decode(data.subarray(lineStart, this.end)),
      length: Math.max(1, len),
    });
    return false;
  }

  /** The diagnostics, with one NAMES_FILE_TOO_MANY_ERRORS when more than MAX_ERRORS were found. */
  finish(): Diagnostic[] {
    if (this.errors > MAX_ERRORS) {
      this.diagnostics.push({
        code: 'NAMES_FILE_TOO_MANY_ERRORS',
        message: `${this.errors - MAX_ERRORS} more errors from this line on are not shown (fix the ones above first)`,
        file: this.display,
        line: this.firstUnreported,
        col: 1,
        severity: 'error',
      });
    }
    return this.diagnostics;
  }
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
