/** A growable byte buffer: the STRINGS section while it is being built. `append` returns the offset written at. */
export class ByteArena {
  private buf = new Uint8Array(4096);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }

  append(bytes: Uint8Array): number {
    this.reserve(bytes.length);
    const at = this.length;
    this.buf.set(bytes, at);
    this.length += bytes.length;
    return at;
  }

  /** Appends `src[off, off+len)` without creating a view (cheap for millions of short keys). */
  appendFrom(src: Uint8Array, off: number, len: number): number {
    this.reserve(len);
    const at = this.length;
    const buf = this.buf;
    for (let k = 0; k < len; k++) buf[at + k] = src[off + k]!;
    this.length += len;
    return at;
  }

  /** Appends n zero bytes (alignment padding). */
  pad(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
