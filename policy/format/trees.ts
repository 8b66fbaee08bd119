/**
 * The interval trees of format version 2 (docs/FORMAT.md, "Interval trees"): the inner levels of a static B+tree over
 * leaves of `LEAF_INTERVALS` consecutive interval starts. Each node holds `fanout` keys, key c being the first start
 * under child c (all-ones past the last child); levels are built bottom-up and returned root first, the node order
 * within a level ascending. One leaf (≤ 8 intervals) needs no node: the result is empty.
 */
import { LEAF_INTERVALS } from '../gen/format.js';

/** `firstKeys[j]` = the first key of leaf j; returns the index keys (nodes × fanout), root first. */
export function treeIndex<T extends number | bigint>(firstKeys: readonly T[], fanout: number, pad: T): T[] {
  const levels: T[][] = [];
  let below = firstKeys;
  while (below.length > 1) {
    const nodes = Math.ceil(below.length / fanout);
    const level: T[] = [];
    for (let i = 0; i < nodes * fanout; i++) level.push(i < below.length ? below[i]! : pad);
    levels.push(level);
    below = Array.from({ length: nodes }, (_, i) => level[i * fanout]!);
  }
  return levels.reverse().flat();
}

/** The first key of every leaf of `keys` (every LEAF_INTERVALS-th key). */
export function leafFirstKeys<T>(keys: readonly T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < keys.length; i += LEAF_INTERVALS) out.push(keys[i]!);
  return out;
}
