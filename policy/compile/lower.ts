/**
 * Lowers a checked `PolicyAst` to the writer's `IrPolicy` (docs/FORMAT.md): rule records in RULES order, exact
 * names and wildcard suffixes into the name lists, address ranges into IPv4/IPv6 ranges. The part of an IPv6 rule
 * inside `::ffff:0:0/96` (IPv4-mapped) becomes an IPv4 range, because readers look such addresses up as IPv4.
 */
import type { IrPolicy, IrRule, NameList, V4Range, V6Range } from '../format/ir.js';
import { V4_MAPPED_BASE, V4_MAPPED_LAST } from '../net/ip.js';
import type { PolicyAst } from '../semantic/ast.js';

const KIND = { host: 1, wildcard: 2, ip: 3, 'names-file': 4 } as const;
const PROTO = { tcp: 1, udp: 2, any: 3 } as const;

export function lowerPolicy(ast: PolicyAst, exact: NameList, wild: NameList): IrPolicy {
  const rules: IrRule[] = [];
  const v4: V4Range[] = [];
  const v6: V6Range[] = [];
  ast.rules.forEach((r, i) => {
    if (r.index !== i) throw new Error(`internal: rule ${r.name} has index ${r.index}, expected ${i}`);
    rules.push({
      name: r.name,
      action: r.action === 'allow' ? 0 : 1,
      proto: PROTO[r.proto],
      kind: KIND[r.target.kind],
      ports: r.ports,
      line: r.line,
    });
    const t = r.target;
    if (t.kind === 'host') exact.addString(t.name, i);
    else if (t.kind === 'wildcard') wild.addString(t.suffix, i);
    else if (t.kind === 'ip') {
      if (t.v === 4) v4.push({ start: Number(t.start), end: Number(t.end), rule: i });
      else splitV6(t.start, t.end, i, v4, v6);
    }
  });
  return {
    enforce: ast.mode === 'enforce',
    allowLoopback: ast.loopback === 'allow',
    budgets: {
      rx: ast.budgets.rxBytes === null ? null : BigInt(ast.budgets.rxBytes),
      tx: ast.budgets.txBytes === null ? null : BigInt(ast.budgets.txBytes),
      total: ast.budgets.totalBytes === null ? null : BigInt(ast.budgets.totalBytes),
    },
    rules,
    exact,
    wild,
    v4,
    v6,
  };
}

function splitV6(start: bigint, end: bigint, rule: number, v4: V4Range[], v6: V6Range[]): void {
  if (end < V4_MAPPED_BASE || start > V4_MAPPED_LAST) {
    v6.push({ start, end, rule });
    return;
  }
  const s = start > V4_MAPPED_BASE ? start : V4_MAPPED_BASE; // bigint: no Math.max
  const e = end < V4_MAPPED_LAST ? end : V4_MAPPED_LAST;
  v4.push({ start: Number(s - V4_MAPPED_BASE), end: Number(e - V4_MAPPED_BASE), rule });
  if (start < V4_MAPPED_BASE) v6.push({ start, end: V4_MAPPED_BASE - 1n, rule });
  if (end > V4_MAPPED_LAST) v6.push({ start: V4_MAPPED_LAST + 1n, end, rule });
}
