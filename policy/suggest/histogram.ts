/**
 * Per-invoke byte counts for one function: exact while there are few, then a log-bucketed histogram, so memory is
 * bounded (at most `EXACT_LIMIT` numbers or a few thousand buckets) whatever the number of invokes.
 *
 * - Up to `EXACT_LIMIT` samples: the quantile is exact (nearest rank: the ⌈q·n⌉-th smallest).
 * - Beyond: bucket 0 holds 0; bucket k ≥ 1 holds values in (GROWTH^(k-1), GROWTH^k]; a quantile is read back as its
 *   bucket's upper bound, so it is never below the true one and at most 1 % above it (capped at the exact maximum).
 * Both are deterministic for the same samples.
 */

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
export const EXACT_LIMIT = 4096;

export class ByteHistogram {
  private exact: number[] | null = [];
  private readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;

  add(v: number): void {
    this.count++;
    if (v > this.max) this.max = v;
    if (this.exact) {
      this.exact.push(v);
      if (this.exact.length <= EXACT_LIMIT) return;
      for (const x of this.exact) this.bucket(x);
      this.exact = null;
      return;
    }
    this.bucket(v);
  }

  private bucket(v: number): void {
    const k = v <= 1 ? (v <= 0 ? 0 : 1) : Math.max(1, Math.ceil(Math.log(v) / LOG_GROWTH - 1e-9));
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + 1);
  }

  /** The q-quantile (0 < q ≤ 1) by nearest rank; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (this.exact) return [...this.exact].sort((a, b) => a - b)[rank - 1]!;
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.buckets.get(k)!;
      if (seen >= rank) return k === 0 ? 0 : Math.min(this.max, Math.ceil(GROWTH ** k));
    }
    return this.max;
  }
}
