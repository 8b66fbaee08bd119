/**
 * Port specs: an integer `443` or a string `"443"` / `"8000-8100"` (spaces around `-` allowed). Ports are 1–65535;
 * a range needs `lo ≤ hi`. `mergePorts` sorts and merges overlapping or adjacent ranges (what the file stores).
 */
export type PortResult = { ok: [number, number] } | { code: string; message: string };

export function parsePort(spec: number | string): PortResult {
  if (typeof spec === 'number') return single(spec, String(spec));
  const m = /^\s*([0-9]{1,6})\s*(?:-\s*([0-9]{1,6})\s*)?$/.exec(spec);
  if (!m) {
    return {
      code: 'PORT_SYNTAX',
      message: `port ${JSON.stringify(spec)} is not a port or a range: write 443 or "8000-8100"`,
    };
  }
  const lo = Number(m[1]);
  if (m[2] === undefined) return single(lo, spec);
  const hi = Number(m[2]);
  for (const p of [lo, hi]) {
    if (p < 1 || p > 65535) return outOfRange(p);
  }
  if (lo > hi) {
    return {
      code: 'PORT_RANGE_REVERSED',
      message: `port range "${spec}" is reversed: write the lower port first ("${hi}-${lo}")`,
    };
  }
  return { ok: [lo, hi] };
}

function single(p: number, text: string): PortResult {
  if (!Number.isInteger(p)) return { code: 'PORT_SYNTAX', message: `port ${text} is not an integer` };
  if (p < 1 || p > 65535) return outOfRange(p);
  return { ok: [p, p] };
}

function outOfRange(p: number): PortResult {
  return {
    code: 'PORT_OUT_OF_RANGE',
    message: `port ${p} is out of range: ports are 1–65535 (leave \`ports\` out to mean every port)`,
  };
}

export function mergePorts(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}
