/**
 * Searches of the version 2 interval trees (docs/FORMAT.md, "Interval trees"), step for step as the C reader
 * (native/src/egp_match.c) does them, so both find the same interval on any bytes that pass validation: in each node
 * the child is (the count of keys ≤ the address) − 1, at least 0, clamped to the level's last node; in the leaf the
 * interval is (the count of starts ≤ the address) − 1, at least 0.
 */
import { LEAF_INTERVALS, V4_FANOUT, V6_FANOUT } from '../gen/format.js';
import type { SectionRef } from './validate.js';

export interface TreeShape {
  /** node count of each inner level, root first; empty for a single leaf */
  levels: number[];
  /** first node index of each inner level */
  first: number[];
  leaves: number;
  /** total inner nodes */
  nodes: number;
}

/** The shape of the tree over `n` intervals with `fanout` keys per node. */
export function treeShape(n: number, fanout: number): TreeShape {
  const leaves = Math.ceil(n / LEAF_INTERVALS);
  const up: number[] = [];
  for (let below = leaves; below > 1; ) {
    below = Math.ceil(below / fanout);
    up.push(below);
  }
  const levels = up.reverse();
  const first: number[] = [];
  let nodes = 0;
  for (const c of levels) {
    first.push(nodes);
    nodes += c;
  }
  return { levels, first, leaves, nodes };
}

type KeyAt<T> = (index: number) => T;

/** Index of the last leaf element ≤ `k` under the tree `index` (keys by index), over `n` leaf keys `leaf`. */
function find<T extends number | bigint>(
  shape: TreeShape,
  fanout: number,
  index: KeyAt<T>,
  leaf: KeyAt<T>,
  n: number,
  k: T,
): number {
  let node = 0;
  for (let l = 0; l < shape.levels.length; l++) {
    const base = (shape.first[l]! + node) * fanout;
    let c = 0;
    for (let i = 0; i < fanout; i++) if (index(base + i) <= k) c++;
    const child = node * fanout + (c > 0 ? c - 1 : 0);
    const limit = l + 1 < shape.levels.length ? shape.levels[l + 1]! : shape.leaves;
    node = Math.min(child, limit - 1);
  }
  const first = node * LEAF_INTERVALS;
  const m = Math.min(LEAF_INTERVALS, n - first);
  let c = 0;
  for (let i = 0; i < m; i++) if (leaf(first + i) <= k) c++;
  return first + (c > 0 ? c - 1 : 0);
}

/** Interval index of IPv4 address `ip` (V4_INTERVALS `v4`, V4_INDEX `index`). */
export function v4TreeFind(view: DataView, v4: SectionRef, index: SectionRef, ip: number): number {
  const shape = treeShape(v4.count, V4_FANOUT);
  return find(
    shape,
    V4_FANOUT,
    (i) => view.getUint32(index.offset + i * 4, true),
    (i) => view.getUint32(v4.offset + i * 8, true),
    v4.count,
    ip,
  );
}

/**
 * Interval index of IPv6 address `ip` (a 128-bit bigint): j = the last interval whose /64 prefix (V6_KEYS) ≤ the
 * address's; below it, j; equal and alone in its /64, j or j − 1 by the low half; else the binary search of
 * version 1 over the intervals from the last one of a lower prefix to j.
 */
export function v6TreeFind(view: DataView, v6: SectionRef, keys: SectionRef, index: SectionRef, ip: bigint): number {
  const shape = treeShape(v6.count, V6_FANOUT);
  const keyFind = (k: bigint) =>
    find(
      shape,
      V6_FANOUT,
      (i) => view.getBigUint64(index.offset + i * 8, true),
      (i) => view.getBigUint64(keys.offset + i * 8, true),
      v6.count,
      k,
    );
  const ih = ip >> 64n;
  const il = ip & 0xffff_ffff_ffff_ffffn;
  const j = keyFind(ih);
  const key = (i: number) => view.getBigUint64(keys.offset + i * 8, true);
  if (key(j) < ih || j === 0) return j;
  if (key(j - 1) < ih) return view.getBigUint64(v6.offset + j * 24 + 8, false) <= il ? j : j - 1;
  let lo = Math.min(ih === 0n ? 0 : keyFind(ih - 1n), j);
  let hi = j + 1;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const o = v6.offset + mid * 24;
    const start = (view.getBigUint64(o, false) << 64n) | view.getBigUint64(o + 8, false);
    if (start <= ip) lo = mid;
    else hi = mid;
  }
  return lo;
}
