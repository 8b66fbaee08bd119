/**
 * Byte-level line splitter with a hard cap on line length, so memory stays bounded whatever the input
 * (a 1 GB export squeezed onto one line by `jq -c` costs at most `maxLine` bytes, not 1 GB).
 *
 * Contract: `push(chunk)` any number of times, then `end()`. For every line (without its `\n`, and without a
 * trailing `\r`) the sink's `line(buf, start, end, lineNo, marked)` is called synchronously; `buf` is never reused
 * by the splitter (a chunk, or a fresh copy), so the sink may keep a reference to the previous line. `marked` says
 * whether the line contains the splitter's `marker` bytes (searched once per chunk, not once per line). A line longer than `maxLine` bytes is not delivered: `tooLong(lineNo)` is called instead and the
 * rest of it is skipped. Line numbers are 1-based. A final line without `\n` is delivered by `end()`.
 */

export interface LineSink {
  line(buf: Buffer, start: number, end: number, lineNo: number, marked: boolean): void;
  tooLong(lineNo: number): void;
}

/** CloudWatch Logs caps an event at 256 KiB; 1 MiB leaves room for escaping and wrappers. */
export const DEFAULT_MAX_LINE = 1 << 20;

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLen = 0;
  private dropping = false;
  private lineNo = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly marker: Buffer = Buffer.alloc(0),
    private readonly maxLine = DEFAULT_MAX_LINE,
  ) {}

  get lines(): number {
    return this.lineNo;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const searching = this.marker.length > 0;
    let mark = searching ? chunk.indexOf(this.marker) : -1;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) {
        this.keep(chunk, pos, chunk.length);
        return;
      }
      if (this.carryLen > 0 || this.dropping) {
        this.keep(chunk, pos, nl);
        this.flushCarry();
      } else if (nl - pos > this.maxLine) {
        this.sink.tooLong(++this.lineNo);
      } else {
        this.emit(chunk, pos, nl, mark >= 0 && mark < nl);
      }
      pos = nl + 1;
      if (mark >= 0 && mark < pos) mark = chunk.indexOf(this.marker, pos);
    }
  }

  end(): void {
    if (this.carryLen > 0 || this.dropping) this.flushCarry();
  }

  /** Keeps a partial line (copying: the caller may reuse its chunk), or drops it once it is too long. */
  private keep(chunk: Buffer, start: number, end: number): void {
    if (this.dropping) return;
    if (this.carryLen + (end - start) > this.maxLine) {
      this.dropping = true;
      this.carry = [];
      this.carryLen = 0;
      return;
    }
    if (end > start) {
      this.carry.push(Buffer.from(chunk.subarray(start, end)));
      this.carryLen += end - start;
    }
  }

  private flushCarry(): void {
    if (this.dropping) {
      this.sink.tooLong(++this.lineNo);
    } else {
      const b = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry, this.carryLen);
      this.emit(b, 0, b.length, this.marker.length > 0 && b.indexOf(this.marker) >= 0);
    }
    this.carry = [];
    this.carryLen = 0;
    this.dropping = false;
  }

  private emit(buf: Buffer, start: number, end: number, marked: boolean): void {
    const e = end > start && buf[end - 1] === 13 ? end - 1 : end;
    this.sink.line(buf, start, e, ++this.lineNo, marked);
  }
}
