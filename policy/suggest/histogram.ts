/**
 * A log-bucketed histogram of non-negative byte counts: bounded memory (at most a few thousand buckets whatever
 * the number of samples), deterministic, and a quantile that is never below the true one.
 *
 * Bucket 0 holds 0; bucket k ≥ 1 holds values in (GROWTH^(k-1), GROWTH^k], so a quantile read back as its bucket's
 * upper bound is at most 1 % above the true value. The result is capped at the exact maximum seen.
 */

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);

export class ByteHistogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;

  add(v: number): void {
    const k = v <= 1 ? (v <= 0 ? 0 : 1) : Math.max(1, Math.ceil(Math.log(v) / LOG_GROWTH - 1e-9));
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + 1);
    this.count++;
    if (v > this.max) this.max = v;
  }

  /** The q-quantile (0 < q ≤ 1), rounded up to its bucket's upper bound; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.buckets.get(k)!;
      if (seen >= rank) return k === 0 ? 0 : Math.min(this.max, Math.ceil(GROWTH ** k));
    }
    return this.max;
  }
}
