/**
 * The wrapper's side of the shared invoke-state file (docs/STATE.md is the contract; this file follows it).
 *
 * - `InvokeStateFile.open(path)` creates the file if missing (`O_RDWR|O_CREAT`, 0600, parent directory 0700), and if it
 *   is shorter than 256 bytes, extends it and writes magic, version and size — the interposer may do the same at the
 *   same moment; both write identical bytes, so the race is harmless. A file of the right size with a wrong
 *   magic/version/size is not ours: `StateFileError` (`E_STATE_INVALID`), and the caller runs without shared state.
 * - Writes follow the seqlock protocol: `seq+1` (odd), the fields, `seq+2` (even), each one `pwrite`. `seq` is re-read
 *   before each update, so a second writer process (Lambda Managed Instances run several) never makes it go backwards.
 * - `begin()` returns the interposer's event counters as they were just before the invoke was published; `end()` the
 *   counters at the end; the caller reports the difference (the wrapper never writes the counters).
 * Node cannot mmap, so everything is positional `readSync`/`writeSync` on one descriptor with preallocated buffers.
 */
import { constants as fsc, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const STATE_SIZE = 256;
export const STATE_MAGIC = Buffer.from([0x45, 0x47, 0x53, 0x54, 0x41, 0x54, 0x45, 0x01]); // "EGSTATE\x01"
export const STATE_VERSION = 1;
export const FLAG_IN_INVOKE = 1;
export const FLAG_BUDGET_TRIPPED = 2;
export const FLAG_CONCURRENT = 4;
export const MAX_REQUEST_ID = 64;

const OFF_SEQ = 16;
const OFF_INVOKE_SEQ = 24;
const OFF_FLAGS = 32;
const OFF_COUNTERS = 128;
const FIELDS_LEN = 104 - OFF_INVOKE_SEQ; // invoke_seq, flags, request_id_len, request_id

export interface EventCounters {
  allowed: bigint;
  denied: bigint;
  blocked: bigint;
  uncovered: bigint;
}

export interface StateSnapshot {
  invokeSeq: bigint;
  flags: number;
  counters: EventCounters;
}

export class StateFileError extends Error {
  constructor(
    readonly code: 'E_STATE_OPEN' | 'E_STATE_INVALID' | 'E_STATE_IO',
    message: string,
  ) {
    super(message);
    this.name = 'StateFileError';
  }
}

export class InvokeStateFile {
  private readonly head = Buffer.alloc(OFF_COUNTERS + 32);
  private readonly seqBuf = Buffer.alloc(8);
  private readonly fields = Buffer.alloc(FIELDS_LEN);
  private readonly flagBuf = Buffer.alloc(4);
  private invokeSeq = 0n;
  private flags = 0;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  static open(path: string): InvokeStateFile {
    let fd: number;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      fd = openSync(path, fsc.O_RDWR | fsc.O_CREAT, 0o600);
    } catch (e) {
      throw new StateFileError('E_STATE_OPEN', `cannot open the invoke-state file ${path}: ${(e as Error).message}`);
    }
    const f = new InvokeStateFile(path, fd);
    if (fstatSync(fd).size < STATE_SIZE) {
      ftruncateSync(fd, STATE_SIZE);
      const h = Buffer.alloc(16);
      STATE_MAGIC.copy(h, 0);
      h.writeUInt32LE(STATE_VERSION, 8);
      h.writeUInt32LE(STATE_SIZE, 12);
      writeSync(fd, h, 0, 16, 0);
    }
    f.readHead();
    const h = f.head;
    if (!h.subarray(0, 8).equals(STATE_MAGIC) || h.readUInt32LE(8) !== STATE_VERSION || h.readUInt32LE(12) !== 256) {
      throw new StateFileError(
        'E_STATE_INVALID',
        `${path} is not an egress-guard invoke-state file (wrong magic, version or size); remove it or point EGRESS_GUARD_STATE elsewhere`,
      );
    }
    return f;
  }

  private readHead(): void {
    const n = readSync(this.fd, this.head, 0, this.head.length, 0);
    if (n !== this.head.length) throw new StateFileError('E_STATE_IO', `short read of ${this.path} (${n} bytes)`);
  }

  private snapshot(): StateSnapshot {
    const h = this.head;
    return {
      invokeSeq: h.readBigUInt64LE(OFF_INVOKE_SEQ),
      flags: h.readUInt32LE(OFF_FLAGS),
      counters: {
        allowed: h.readBigUInt64LE(OFF_COUNTERS),
        denied: h.readBigUInt64LE(OFF_COUNTERS + 8),
        blocked: h.readBigUInt64LE(OFF_COUNTERS + 16),
        uncovered: h.readBigUInt64LE(OFF_COUNTERS + 24),
      },
    };
  }

  /** Reads the file as it is now (seq, flags, request id and counters are whatever is there). */
  read(): StateSnapshot {
    this.readHead();
    return this.snapshot();
  }

  /** Seqlock write: odd seq, then `write()`, then even seq. Uses the `seq` found in `head` (just read). */
  private publish(write: () => void): void {
    const seq = this.head.readBigUInt64LE(OFF_SEQ);
    const odd = seq % 2n === 1n ? seq + 2n : seq + 1n;
    this.seqBuf.writeBigUInt64LE(odd);
    writeSync(this.fd, this.seqBuf, 0, 8, OFF_SEQ);
    write();
    this.seqBuf.writeBigUInt64LE(odd + 1n);
    writeSync(this.fd, this.seqBuf, 0, 8, OFF_SEQ);
  }

  private writeFields(requestId: string): void {
    const b = this.fields;
    b.fill(0);
    b.writeBigUInt64LE(this.invokeSeq, 0);
    b.writeUInt32LE(this.flags, OFF_FLAGS - OFF_INVOKE_SEQ);
    // request_id is ASCII, at most 64 bytes; anything else is dropped rather than truncated into a wrong id.
    const len = requestId.length <= MAX_REQUEST_ID ? b.write(requestId, 16, 'latin1') : 0;
    b.writeUInt32LE(len, 12);
    writeSync(this.fd, b, 0, FIELDS_LEN, OFF_INVOKE_SEQ);
  }

  /**
   * Invoke start: `invoke_seq += 1`, flags = IN_INVOKE (| CONCURRENT), request id set. Returns the file as it was just
   * before (its counters are the invoke's baseline) and the invoke_seq now published.
   */
  begin(requestId: string, concurrent: boolean): { before: StateSnapshot; invokeSeq: bigint } {
    this.readHead();
    const before = this.snapshot();
    this.invokeSeq = before.invokeSeq + 1n;
    this.flags = FLAG_IN_INVOKE | (concurrent ? FLAG_CONCURRENT : 0);
    this.publish(() => this.writeFields(requestId));
    return { before, invokeSeq: this.invokeSeq };
  }

  /** Sets flag bits (BUDGET_TRIPPED, CONCURRENT) during an invoke. */
  setFlags(bits: number): void {
    this.readHead();
    this.flags = this.head.readUInt32LE(OFF_FLAGS) | bits;
    this.flagBuf.writeUInt32LE(this.flags);
    this.publish(() => writeSync(this.fd, this.flagBuf, 0, 4, OFF_FLAGS));
  }

  /**
   * Invoke end: clears IN_INVOKE unless `stillInInvoke` (another invoke of this process is running); keeps the request
   * id so late events still carry it. Returns the file as it was just before (counters at the end of the invoke).
   */
  end(stillInInvoke: boolean): StateSnapshot {
    this.readHead();
    const at = this.snapshot();
    if (!stillInInvoke) {
      this.flags = at.flags & ~FLAG_IN_INVOKE;
      this.flagBuf.writeUInt32LE(this.flags);
      this.publish(() => writeSync(this.fd, this.flagBuf, 0, 4, OFF_FLAGS));
    }
    return at;
  }
}
