/**
 * Reads `/proc/net/dev` cheaply, many times: one descriptor opened once per process, re-read with `pread` at offset 0
 * (the kernel's seq_file regenerates the text on a read at position 0), into one reusable buffer.
 *
 * Contract: `read()` returns the parsed snapshot or throws `ProcNetDevError` (`E_PROCNETDEV_READ` when the file cannot
 * be opened or read, `E_PROCNETDEV_FORMAT` when it is not /proc/net/dev). /proc/net/dev is per network namespace: it
 * shows the namespace of the reading process, which is the function's (docs/LAMBDA.md "/proc/net/dev inside Lambda").
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { type ParsedProcNetDev, ProcNetDevError, parseProcNetDev } from './procnetdev.js';

export const PROC_NET_DEV = '/proc/net/dev';

export class NetDevReader {
  private fd = -1;
  private buf = Buffer.allocUnsafe(16 * 1024);

  constructor(readonly path: string = PROC_NET_DEV) {}

  read(): ParsedProcNetDev {
    return parseProcNetDev(this.readText());
  }

  readText(): string {
    try {
      if (this.fd < 0) this.fd = openSync(this.path, 'r');
      for (;;) {
        let n = 0;
        for (;;) {
          const got = readSync(this.fd, this.buf, n, this.buf.length - n, n);
          if (got === 0) break;
          n += got;
          if (n === this.buf.length) break;
        }
        if (n < this.buf.length) return this.buf.toString('latin1', 0, n);
        // Filled the buffer: there may be more (hundreds of interfaces). Grow and read again from 0.
        this.buf = Buffer.allocUnsafe(this.buf.length * 4);
      }
    } catch (e) {
      if (e instanceof ProcNetDevError) throw e;
      throw new ProcNetDevError('E_PROCNETDEV_READ', `cannot read ${this.path}: ${(e as Error).message}`);
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
