/**
 * RULESETS builder (docs/FORMAT.md, "Rule sets"): word 0 is the empty set; every other set is `n` followed by `n`
 * strictly ascending rule indices. Identical sets are stored once, so a million names of one list share one set.
 */
export class SetInterner {
  private words = new Uint32Array(256);
  private used = 1; // word 0 = 0: the empty set
  private readonly byKey = new Map<string, number>();
  private readonly single = new Map<number, number>();

  /** `rules` strictly ascending. Returns the set's word index (0 for the empty set). */
  intern(rules: readonly number[]): number {
    if (rules.length === 0) return 0;
    if (rules.length === 1) {
      const r = rules[0]!;
      const hit = this.single.get(r);
      if (hit !== undefined) return hit;
      const at = this.append(rules);
      this.single.set(r, at);
      return at;
    }
    const key = rules.join(',');
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    const at = this.append(rules);
    this.byKey.set(key, at);
    return at;
  }

  private append(rules: readonly number[]): number {
    const need = this.used + 1 + rules.length;
    if (need > this.words.length) {
      let n = this.words.length * 2;
      while (n < need) n *= 2;
      const w = new Uint32Array(n);
      w.set(this.words.subarray(0, this.used));
      this.words = w;
    }
    const at = this.used;
    this.words[at] = rules.length;
    for (let i = 0; i < rules.length; i++) this.words[at + 1 + i] = rules[i]!;
    this.used = need;
    return at;
  }

  result(): Uint32Array {
    return this.words.subarray(0, this.used);
  }
}
