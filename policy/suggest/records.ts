/**
 * Finds the guard's JSON objects (`"name":"egress-guard"`, docs/LOGGING.md) in whatever a user feeds `suggest`:
 *
 * - plain lines, one object per line (`EGRESS_GUARD_LOG=<file>`, or stderr captured anywhere);
 * - lines with a text prefix before the object: Lambda's text log format `time\trequestId\tLEVEL\t{…}` (the request id
 *   is kept as context), `aws logs tail --format detailed` (`time stream {…}`, the stream is kept) and `--format short`;
 * - wrapper objects whose `message` holds our line (as a string, possibly itself prefixed, or as an object): one
 *   CloudWatch event per line (`aws logs tail --format none`, `jq -c '.events[]'`), Lambda's JSON log format;
 *   `logStreamName` and `requestId` of the wrapper are kept as context;
 * - multi-line, pretty-printed JSON: the document `aws logs filter-log-events` prints (`{"events": [ {…}, … ]}`, any
 *   size: each element is parsed on its own), and `aws logs tail --format json`, which prints a `time stream` header
 *   line followed by the message pretty-printed over several lines.
 *
 * Everything else (the function's own logs, EMF lines, START/END/REPORT) is counted as foreign and skipped. A line
 * that carries our marker (`"name":"egress-guard"`, possibly JSON-escaped) but yields no object is counted as bad
 * with a stable code. Memory is bounded: lines are capped by `LineSplitter`, and a multi-line block keeps at most
 * `MAX_OBJECT` bytes of text per object being collected.
 */
import type { LineSink } from './lines.js';

export interface RecordContext {
  /** input name (file path or `-`) and 1-based line where the record (or its block) ends */
  source: string;
  line: number;
  /** CloudWatch log stream, when the input says (one stream = one execution environment of one function) */
  stream?: string;
  /** request id from a Lambda text-format prefix or a JSON-log-format wrapper */
  requestId?: string;
}

export type BadCode = 'E_SUGGEST_LINE_TOO_LONG' | 'E_SUGGEST_BAD_JSON' | 'E_SUGGEST_BAD_BLOCK' | 'E_SUGGEST_BAD_FIELDS';

export interface RecordSink {
  /** An object with `name: "egress-guard"`. */
  record(obj: Record<string, unknown>, ctx: RecordContext): void;
  bad(code: BadCode, ctx: RecordContext): void;
  foreign(): void;
}

/** The bytes every line of ours contains; the line splitter searches for them once per chunk. */
export const MARK = Buffer.from('egress-guard');
/** Our marker as it appears in a line: plain, or inside a JSON string (escaped quotes). */
const NAME_RE = /\\*"name\\*"\s*:\s*\\*"egress-guard\\*"/;
const TS_RE = /^\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?$/;
const TAIL_HEADER_RE = /^(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?) (\S+)$/;
const REQUEST_ID_RE = /^[0-9A-Za-z-]{8,64}$/;
const JSON_SCALAR_LINE_RE = /^(?:-?\d[\d.eE+-]*|true|false|null),?$/;
/** Largest multi-line object we collect (a CloudWatch event is at most 256 KiB). */
export const MAX_OBJECT = 1 << 20;
const MAX_NESTING = 64;
const MAX_UNWRAP = 4;

interface Capture {
  start: number;
  depthBefore: number;
  bytes: number;
  overflow: boolean;
  /** an object started on its own line inside this one (then only the inner objects are parsed) */
  hasInner: boolean;
}

export class RecordExtractor implements LineSink {
  private inBlock = false;
  private depth = 0;
  private inString = false;
  private escape = false;
  private blk: string[] = [];
  private blkBase = 0;
  private captures: Capture[] = [];
  private blockMarked = false;
  private blockStream: string | undefined;
  /** the previous foreign line (maybe an `aws logs tail --format json` header naming the stream of a block) */
  private prevBuf: Buffer | undefined;
  private prevStart = 0;
  private prevEnd = 0;
  private lastLine = 0;

  constructor(
    private readonly sink: RecordSink,
    private readonly source: string,
  ) {}

  line(buf: Buffer, start: number, end: number, lineNo: number, marked: boolean): void {
    this.lastLine = lineNo;
    if (this.inBlock) {
      this.blockLine(buf.toString('utf8', start, end), marked, lineNo);
      return;
    }
    this.plainLine(buf, start, end, marked, lineNo);
  }

  tooLong(lineNo: number): void {
    this.lastLine = lineNo;
    if (this.inBlock) this.abandonBlock(lineNo);
    this.sink.bad('E_SUGGEST_LINE_TOO_LONG', { source: this.source, line: lineNo });
  }

  /** Call once after the last line: an unterminated block is reported. */
  end(): void {
    if (this.inBlock) this.abandonBlock(this.lastLine);
  }

  private plainLine(buf: Buffer, start: number, end: number, marked: boolean, lineNo: number): void {
    let s = start;
    let e = end;
    while (s < e && (buf[s] === 32 || buf[s] === 9)) s++;
    while (e > s && (buf[e - 1] === 32 || buf[e - 1] === 9)) e--;
    if (e - s === 1 && (buf[s] === 123 || buf[s] === 91)) {
      this.startBlock(lineNo);
      this.blockLine(buf.toString('utf8', start, end), marked, lineNo);
      return;
    }
    if (marked) {
      this.prevBuf = undefined;
      const ctx: RecordContext = { source: this.source, line: lineNo };
      if (!this.text(buf.toString('utf8', s, e), ctx, 0)) this.sink.foreign();
      return;
    }
    // Kept (not decoded) in case a block starts on the next line: then it may be its `time stream` header.
    this.prevBuf = buf;
    this.prevStart = s;
    this.prevEnd = e;
    this.sink.foreign();
  }

  /**
   * Handles one line of text that may hold our object after a prefix. Returns true when it was ours (a record, or a
   * bad line that was counted), false when it is foreign.
   */
  private text(t: string, ctx: RecordContext, depth: number): boolean {
    const open = t.indexOf('{');
    const close = t.lastIndexOf('}');
    if (open < 0 || close < open) {
      if (NAME_RE.test(t)) {
        this.sink.bad('E_SUGGEST_BAD_JSON', ctx);
        return true;
      }
      return false;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(t.slice(open, close + 1));
    } catch {
      if (NAME_RE.test(t)) {
        this.sink.bad('E_SUGGEST_BAD_JSON', ctx);
        return true;
      }
      return false;
    }
    const c = open > 0 ? withPrefix(ctx, t.slice(0, open)) : ctx;
    return this.object(obj, c, depth);
  }

  /** Returns true when `obj` was (or contained) one of ours. */
  private object(obj: unknown, ctx: RecordContext, depth: number): boolean {
    if (depth > MAX_UNWRAP || obj === null || typeof obj !== 'object') return false;
    if (Array.isArray(obj)) {
      let any = false;
      for (const el of obj) any = this.object(el, ctx, depth + 1) || any;
      return any;
    }
    const o = obj as Record<string, unknown>;
    if (o.name === 'egress-guard') {
      this.sink.record(o, ctx);
      return true;
    }
    if (Array.isArray(o.events)) return this.object(o.events, ctx, depth + 1);
    const inner: RecordContext = { ...ctx };
    if (typeof o.logStreamName === 'string') inner.stream = o.logStreamName;
    if (typeof o.requestId === 'string' && REQUEST_ID_RE.test(o.requestId)) inner.requestId = o.requestId;
    const msg = o.message;
    if (typeof msg === 'string') {
      if (!msg.includes('egress-guard')) return false;
      let any = false;
      for (const part of msg.split('\n')) {
        const p = part.trim();
        if (p !== '') any = this.text(p, inner, depth + 1) || any;
      }
      return any;
    }
    if (msg !== null && typeof msg === 'object') return this.object(msg, inner, depth + 1);
    return false;
  }

  // ---- multi-line blocks -------------------------------------------------------------------------------------

  private startBlock(lineNo: number): void {
    this.inBlock = true;
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.blk = [];
    this.blkBase = lineNo;
    this.captures = [];
    this.blockMarked = false;
    this.blockStream = undefined;
    // `aws logs tail --format json` prints `time stream` alone on the line before a pretty-printed message.
    const p = this.prevBuf;
    if (p !== undefined && this.prevEnd - this.prevStart < 600) {
      const m = TAIL_HEADER_RE.exec(p.toString('utf8', this.prevStart, this.prevEnd));
      if (m) this.blockStream = m[2];
    }
    this.prevBuf = undefined;
  }

  private blockLine(t: string, marked: boolean, lineNo: number): void {
    const trimmed = t.trim();
    if (!this.inString && trimmed !== '' && !jsonLike(trimmed, marked)) {
      // Not part of a pretty-printed document: the block was a stray `{`. Reprocess this line on its own.
      this.abandonBlock(lineNo);
      const b = Buffer.from(t, 'utf8');
      this.prevBuf = undefined;
      this.plainLine(b, 0, b.length, marked, lineNo);
      return;
    }
    if (marked) this.blockMarked = true;
    if (trimmed === '{' && !this.inString) {
      if (this.captures.length >= MAX_NESTING) {
        this.abandonBlock(lineNo);
        return;
      }
      for (const c of this.captures) c.hasInner = true;
      this.captures.push({ start: lineNo, depthBefore: this.depth, bytes: 0, overflow: false, hasInner: false });
    }
    this.blk.push(t);
    for (const c of this.captures) {
      if (c.overflow) continue;
      c.bytes += t.length + 1;
      if (c.bytes > MAX_OBJECT) c.overflow = true;
    }
    this.scan(t);
    if (this.depth < 0) {
      this.abandonBlock(lineNo);
      return;
    }
    while (this.captures.length > 0 && this.depth <= this.captures[this.captures.length - 1]!.depthBefore) {
      const c = this.captures.pop()!;
      if (c.overflow) {
        // The outermost document may be huge (its elements are parsed one by one); an inner object that big is
        // not a CloudWatch event: if it carried our marker, it is counted as bad.
        if (this.captures.length > 0 && this.blockMarked) {
          this.sink.bad('E_SUGGEST_BAD_BLOCK', { source: this.source, line: lineNo });
          this.blockMarked = false;
        }
        continue;
      }
      // A document whose elements were objects on their own lines (`{"events": [ {…}, … ]}`) was handled
      // element by element; parsing it whole would count every element twice.
      if (!c.hasInner) this.emitCapture(c, lineNo);
    }
    if (this.depth === 0) {
      this.inBlock = false;
      this.blk = [];
      return;
    }
    this.trimRetained(lineNo);
  }

  private emitCapture(c: Capture, lineNo: number): void {
    const text = this.blk
      .slice(c.start - this.blkBase, lineNo - this.blkBase + 1)
      .join('\n')
      .replace(/,\s*$/, '');
    if (!text.includes('egress-guard')) {
      this.sink.foreign();
      return;
    }
    const ctx: RecordContext = { source: this.source, line: lineNo };
    if (this.blockStream !== undefined) ctx.stream = this.blockStream;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      if (NAME_RE.test(text)) this.sink.bad('E_SUGGEST_BAD_BLOCK', ctx);
      return;
    }
    if (this.object(obj, ctx, 0)) this.blockMarked = false;
    else this.sink.foreign();
  }

  /** Drops retained lines that no open capture can still need. */
  private trimRetained(lineNo: number): void {
    let min = Number.POSITIVE_INFINITY;
    // a capture with an inner object is never parsed whole: its lines need not be kept
    for (const c of this.captures) if (!c.overflow && !c.hasInner && c.start < min) min = c.start;
    if (min === Number.POSITIVE_INFINITY) {
      this.blk = [];
      this.blkBase = lineNo + 1;
    } else if (min - this.blkBase > 4096) {
      this.blk.splice(0, min - this.blkBase);
      this.blkBase = min;
    }
  }

  private abandonBlock(lineNo: number): void {
    if (this.blockMarked) this.sink.bad('E_SUGGEST_BAD_BLOCK', { source: this.source, line: lineNo });
    this.inBlock = false;
    this.blk = [];
    this.captures = [];
    this.blockMarked = false;
  }

  /** Updates depth and string state over one line (structural characters outside strings only). */
  private scan(t: string): void {
    let depth = this.depth;
    let inString = this.inString;
    let esc = this.escape;
    for (let i = 0; i < t.length; i++) {
      const ch = t.charCodeAt(i);
      if (inString) {
        if (esc) esc = false;
        else if (ch === 92) esc = true;
        else if (ch === 34) inString = false;
      } else if (ch === 34) inString = true;
      else if (ch === 123 || ch === 91) depth++;
      else if (ch === 125 || ch === 93) depth--;
    }
    this.depth = depth;
    this.inString = inString;
    this.escape = esc;
  }
}

/** Could this trimmed line be part of a pretty-printed JSON document? A complete object of ours is not. */
function jsonLike(t: string, marked: boolean): boolean {
  const c = t.charCodeAt(0);
  if (c === 123 /* { */) return !(marked && t.length > 1 && (t.endsWith('}') || t.endsWith('},')));
  if (c === 34 || c === 125 || c === 91 || c === 93 || c === 44) return true;
  return JSON_SCALAR_LINE_RE.test(t);
}

/** Context from the text before the object: Lambda's text format or an `aws logs tail` prefix. */
function withPrefix(ctx: RecordContext, prefix: string): RecordContext {
  const out: RecordContext = { ...ctx };
  if (prefix.includes('\t')) {
    const parts = prefix.split('\t');
    if (parts.length >= 3 && TS_RE.test(parts[0]!.trim()) && REQUEST_ID_RE.test(parts[1]!.trim())) {
      out.requestId = parts[1]!.trim();
    }
    return out;
  }
  const tokens = prefix.trim().split(/ +/);
  if (tokens.length === 2 && TS_RE.test(tokens[0]!)) out.stream = tokens[1];
  return out;
}
