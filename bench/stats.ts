/** Summary statistics for `npm run bench`: the median of repeated runs, with min and max so noise is visible. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(xs: number[]): Spread {
  if (xs.length === 0) throw new Error('spread of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { median: +median.toFixed(4), min: +s[0]!.toFixed(4), max: +s[s.length - 1]!.toFixed(4), n: s.length };
}
