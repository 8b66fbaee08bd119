/**
 * The writer's input: a policy already checked and lowered to what the file stores (docs/FORMAT.md).
 * Names are normalised ASCII bytes; IPv4 ranges are inclusive `u32` bounds; IPv6 ranges inclusive `bigint` bounds,
 * never inside `::ffff:0:0/96` (the compiler turns that part into IPv4 ranges).
 *
 * `NameList` keeps (key, rule) pairs in typed arrays (one shared byte arena, no per-name objects), so a
 * 1,000,000-name list costs a few tens of MB and no garbage-collector pressure.
 */

export interface IrRule {
  /** Display name, 1–255 bytes of UTF-8. */
  name: string;
  action: 0 | 1;
  /** bit 0 TCP, bit 1 UDP; never 0. */
  proto: 1 | 2 | 3;
  kind: 1 | 2 | 3 | 4;
  /** Inclusive `[lo, hi]` ranges; empty = every port. */
  ports: ReadonlyArray<readonly [number, number]>;
  /** 1-based source line, 0 = unknown. */
  line: number;
}

export interface V4Range {
  start: number;
  /** inclusive */
  end: number;
  rule: number;
}

export interface V6Range {
  start: bigint;
  /** inclusive */
  end: bigint;
  rule: number;
}

export interface IrBudgets {
  rx: bigint | null;
  tx: bigint | null;
  total: bigint | null;
}

export interface IrPolicy {
  enforce: boolean;
  allowLoopback: boolean;
  budgets: IrBudgets;
  rules: IrRule[];
  exact: NameList;
  wild: NameList;
  v4: V4Range[];
  v6: V6Range[];
}

/** Growable list of (key bytes, rule index) pairs backed by typed arrays. */
export class NameList {
  bytes: Uint8Array = new Uint8Array(1024);
  used = 0;
  off: Uint32Array = new Uint32Array(64);
  len: Uint32Array = new Uint32Array(64);
  rule: Uint32Array = new Uint32Array(64);
  count = 0;

  private reserve(extraBytes: number): void {
    if (this.used + extraBytes > this.bytes.length) {
      let n = this.bytes.length * 2;
      while (n < this.used + extraBytes) n *= 2;
      const b = new Uint8Array(n);
      b.set(this.bytes.subarray(0, this.used));
      this.bytes = b;
    }
    if (this.count === this.off.length) {
      const n = this.off.length * 2;
      this.off = grow(this.off, n);
      this.len = grow(this.len, n);
      this.rule = grow(this.rule, n);
    }
  }

  /** Adds `src[start, start+len)` (already normalised) for `rule`. */
  addBytes(src: Uint8Array, start: number, len: number, rule: number): void {
    this.reserve(len);
    const b = this.bytes;
    for (let k = 0; k < len; k++) b[this.used + k] = src[start + k]!;
    this.push(len, rule);
  }

  /** Adds an already-normalised ASCII key for `rule`. */
  addString(key: string, rule: number): void {
    this.reserve(key.length);
    for (let i = 0; i < key.length; i++) this.bytes[this.used + i] = key.charCodeAt(i) & 0xff;
    this.push(key.length, rule);
  }

  private push(len: number, rule: number): void {
    this.off[this.count] = this.used;
    this.len[this.count] = len;
    this.rule[this.count] = rule;
    this.used += len;
    this.count++;
  }

  key(i: number): string {
    const o = this.off[i]!;
    return String.fromCharCode(...this.bytes.subarray(o, o + this.len[i]!));
  }
}

function grow(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
