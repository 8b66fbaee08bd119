/**
 * Budget proposal (docs/SUGGEST.md, "Budgets"): for each of rx, tx and total (rx+tx) bytes per invoke, take every
 * function's p99 over its non-concurrent invokes, keep the largest (one policy serves every function that ships it),
 * multiply by `margin` (default 2) and round **up** to a readable size: in the largest binary unit (KiB … TiB) not
 * above the value, an integer up to 10, a multiple of 5 up to 100, a multiple of 50 above; at least 1KiB.
 */
import type { FunctionBytes } from './aggregate.js';
import type { ByteHistogram } from './histogram.js';

export const DEFAULT_MARGIN = 2;
export const QUANTILE = 0.99;
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['TiB', 2 ** 40],
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
];

export interface BudgetLine {
  key: 'rxBytes' | 'txBytes' | 'totalBytes';
  /** the size text written to the policy, e.g. `3MiB` */
  value: string;
  bytes: number;
  /** the largest per-function p99 and whose it was */
  p99: number;
  fn: string;
  invokes: number;
}

export interface BudgetProposal {
  lines: BudgetLine[];
  invokes: number;
  concurrent: number;
  functions: number;
}

/** Rounds `bytes` up to a readable size. Returns the text and its value in bytes. */
export function readableSize(bytes: number): { text: string; bytes: number } {
  const v = Math.max(bytes, 1024);
  for (const [unit, size] of UNITS) {
    if (v < size && unit !== 'KiB') continue;
    const x = v / size;
    const step = x <= 10 ? 1 : x <= 100 ? 5 : 50;
    const r = Math.ceil(x / step - 1e-12) * step;
    return { text: `${r}${unit}`, bytes: r * size };
  }
  /* c8 ignore next */
  return { text: `${Math.ceil(v)}`, bytes: Math.ceil(v) };
}

/** Human form for comments: `1.37 MiB`, `512 B`. */
export function humanBytes(n: number): string {
  for (const [unit, size] of UNITS) if (n >= size) return `${(n / size).toFixed(2).replace(/\.?0+$/, '')} ${unit}`;
  return `${n} B`;
}

export function proposeBudgets(fns: Map<string, FunctionBytes>, margin = DEFAULT_MARGIN): BudgetProposal | null {
  let invokes = 0;
  let concurrent = 0;
  for (const f of fns.values()) {
    invokes += f.invokes;
    concurrent += f.concurrent;
  }
  if (invokes === 0) return null;
  const names = [...fns.keys()].sort();
  const pick = (key: BudgetLine['key'], h: (f: FunctionBytes) => ByteHistogram): BudgetLine => {
    let best = { p99: -1, fn: '', invokes: 0 };
    for (const name of names) {
      const f = fns.get(name)!;
      if (f.invokes === 0) continue;
      const q = h(f).quantile(QUANTILE);
      if (q > best.p99) best = { p99: q, fn: name, invokes: f.invokes };
    }
    const r = readableSize(best.p99 * margin);
    return { key, value: r.text, bytes: r.bytes, ...best };
  };
  return {
    lines: [pick('rxBytes', (f) => f.rx), pick('txBytes', (f) => f.tx), pick('totalBytes', (f) => f.total)],
    invokes,
    concurrent,
    functions: [...fns.values()].filter((f) => f.invokes > 0).length,
  };
}
