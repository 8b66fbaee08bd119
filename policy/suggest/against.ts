/**
 * `suggest --against policy.yaml`: checks every observed destination against an existing policy with the real
 * compiler and reference matcher, and reports
 * - what that policy denies (whatever the logs said at the time: they may come from another policy version), with
 *   the smallest change that would allow it — in order of preference:
 *   1. `remove-deny`: an explicit deny rule decides it; no allow rule can override a deny (deny always wins), so the
 *      deny rule must be removed or narrowed;
 *   2. `extend`: an allow rule already matches the name or address but not this port or protocol: add the ports
 *      (or drop its `proto`);
 *   3. `add`: no rule matches: add one exact rule (name or address, observed ports, the protocol when uniform);
 * - destinations the logs show denied that this policy now allows (`nowAllowed`);
 * - rules that decided no observed event (`unused`; deny rules listed apart: a protective rule is expected to be
 *   idle);
 * - budgets compared with the observed per-invoke bytes (largest per-function p99 and maximum).
 *
 * Queries follow docs/FORMAT.md: a lookup is a name decision with the port and protocol the log gave (unknown when
 * absent); a connect/send is an address decision with its bound name. A connect/send whose protocol the log did not
 * give is checked as TCP for `connect` and UDP for `sendto`. Loopback destinations are checked too (a policy with
 * `loopback: deny` denies them); the guard's built-ins (Runtime API, X-Ray) and numeric lookups are not.
 */
import type { CompiledPolicy, DecisionResult } from '../match/compiled.js';
import { parseAddr } from '../net/ip.js';
import type { AstRule, PolicyAst } from '../semantic/ast.js';
import type { Aggregator, Destination } from './aggregate.js';
import type { Proto } from './events.js';
import { addUsage, emptyUsage, type Usage } from './plan.js';
import { yamlScalar } from './render.js';
import { compareNames } from './wildcard.js';

export type FixKind = 'remove-deny' | 'extend' | 'add';

export interface Denied {
  /** the name, or the address of a connect/send without a name */
  target: string;
  targetKind: 'host' | 'ip';
  /** observed ports that are denied (empty when the only denied use had no port, i.e. a lookup) */
  ports: number[];
  protos: Proto[];
  /** rules that decided the denials: `default` or a deny rule's name */
  deciders: string[];
  usage: Usage;
  fix: Fix;
}

export interface Fix {
  kind: FixKind;
  /** the rule to change (`remove-deny`, `extend`) */
  rule?: RuleRef;
  /** `extend`: ports to add to the rule (empty if only the protocol is missing) */
  addPorts?: number[];
  /** `extend`: the rule's `proto` must go */
  dropProto?: boolean;
  /** `add`: the YAML of the rule to add (list item, two-space indented) */
  yaml?: string;
}

export interface RuleRef {
  index: number;
  name: string;
  action: 'allow' | 'deny';
  line: number;
  /** how the rule names its target, e.g. `host: api.example.com` */
  target: string;
}

export interface AgainstReport {
  policyFile: string;
  checked: number;
  denied: Denied[];
  nowAllowed: Array<{ target: string; rule: string; usage: Usage }>;
  unusedAllow: RuleRef[];
  unusedDeny: RuleRef[];
  budgets: Array<{
    key: 'rxBytes' | 'txBytes' | 'totalBytes';
    budget: number | null;
    p99: number;
    p99Fn: string;
    max: number;
    maxFn: string;
  }>;
}

export function ruleRef(r: AstRule): RuleRef {
  return { index: r.index, name: r.name, action: r.action, line: r.line, target: targetText(r) };
}

function targetText(r: AstRule): string {
  const t = r.target;
  if (t.kind === 'host') return `host: ${t.name}`;
  if (t.kind === 'wildcard') return `host: "*.${t.suffix}"`;
  if (t.kind === 'ip') return `${t.text.includes('/') ? 'cidr' : 'ip'}: ${t.text}`;
  return `hosts_file: ${t.display}`;
}

function covers(ranges: Array<[number, number]>, port: number): boolean {
  return ranges.length === 0 || ranges.some(([lo, hi]) => port >= lo && port <= hi);
}

interface Pending {
  target: string;
  targetKind: 'host' | 'ip';
  ports: Set<number>;
  protos: Set<Proto>;
  deciders: Set<string>;
  denyRule: number | null;
  usage: Usage;
}

export function checkAgainst(agg: Aggregator, compiled: CompiledPolicy, ast: PolicyAst): AgainstReport {
  const used = new Set<number>();
  const denied = new Map<string, Pending>();
  const nowAllowed = new Map<string, { target: string; rule: string; usage: Usage }>();
  let checked = 0;
  const dests = [...agg.destinations.values()].filter((d) => d.omit !== 'builtin' && d.omit !== 'numeric-lookup');
  for (const d of dests) {
    checked++;
    const res = decide(compiled, d);
    if (res.ruleIndex !== null) used.add(res.ruleIndex);
    const target = d.host ?? d.ip!;
    if (res.decision === 'allow') {
      if (d.logged.deny > 0) {
        let x = nowAllowed.get(target);
        if (!x) {
          x = { target, rule: res.rule, usage: emptyUsage() };
          nowAllowed.set(target, x);
        }
        addUsage(x.usage, d);
      }
      continue;
    }
    let p = denied.get(target);
    if (!p) {
      p = {
        target,
        targetKind: d.host !== undefined ? 'host' : 'ip',
        ports: new Set(),
        protos: new Set(),
        deciders: new Set(),
        denyRule: null,
        usage: emptyUsage(),
      };
      denied.set(target, p);
    }
    if (d.port !== undefined) p.ports.add(d.port);
    if (d.proto !== undefined) p.protos.add(d.proto);
    p.deciders.add(res.rule);
    if (res.ruleIndex !== null && (p.denyRule === null || res.ruleIndex < p.denyRule)) p.denyRule = res.ruleIndex;
    addUsage(p.usage, d);
  }
  const byIndex = new Map(ast.rules.map((r) => [r.index, r]));
  const out: AgainstReport = {
    policyFile: ast.file,
    checked,
    denied: [...denied.values()].sort(compareTargets).map((p) => ({
      target: p.target,
      targetKind: p.targetKind,
      ports: [...p.ports].sort((a, b) => a - b),
      protos: [...p.protos].sort(),
      deciders: [...p.deciders].sort(),
      usage: p.usage,
      fix: fixFor(p, compiled, ast, byIndex),
    })),
    nowAllowed: [...nowAllowed.values()].sort((a, b) => (a.target < b.target ? -1 : 1)),
    unusedAllow: ast.rules.filter((r) => r.action === 'allow' && !used.has(r.index)).map(ruleRef),
    unusedDeny: ast.rules.filter((r) => r.action === 'deny' && !used.has(r.index)).map(ruleRef),
    budgets: [],
  };
  const keys = ['rxBytes', 'txBytes', 'totalBytes'] as const;
  for (const key of keys) {
    let p99 = 0;
    let p99Fn = '';
    let max = 0;
    let maxFn = '';
    for (const fn of [...agg.functionBytes.keys()].sort()) {
      const f = agg.functionBytes.get(fn)!;
      if (f.invokes === 0) continue;
      const h = key === 'rxBytes' ? f.rx : key === 'txBytes' ? f.tx : f.total;
      const q = h.quantile(0.99);
      if (q > p99 || p99Fn === '') [p99, p99Fn] = [q, fn];
      if (h.max > max || maxFn === '') [max, maxFn] = [h.max, fn];
    }
    if (p99Fn !== '') out.budgets.push({ key, budget: ast.budgets[key], p99, p99Fn, max, maxFn });
  }
  return out;
}

/** Names first (grouped by domain), then addresses in numeric order, IPv4 before IPv6. */
function compareTargets(a: Pending, b: Pending): number {
  if (a.targetKind !== b.targetKind) return a.targetKind === 'host' ? -1 : 1;
  if (a.targetKind === 'host') return compareNames(a.target, b.target);
  const x = parseAddr(a.target)!;
  const y = parseAddr(b.target)!;
  if (x.v !== y.v) return x.v - y.v;
  return BigInt(x.n) < BigInt(y.n) ? -1 : BigInt(x.n) > BigInt(y.n) ? 1 : 0;
}

/**
 * The policy's decision for one observed destination (docs/FORMAT.md "Decisions"). A connect/send bound to a name is
 * decided at each sampled address; the first denial wins (a deny CIDR can catch one address of a name).
 */
export function decide(compiled: CompiledPolicy, d: Destination): DecisionResult {
  if (d.kind === 'name') return compiled.decideName(d.host!, d.port, d.proto);
  const proto: Proto = d.proto ?? (d.byEvent.sendto > 0 && d.byEvent.connect === 0 ? 'udp' : 'tcp');
  const ips = d.ips ?? [d.ip!];
  let first: DecisionResult | undefined;
  for (const ip of ips) {
    const r = compiled.decideAddr(ip, d.port!, proto, d.host);
    if (r.decision === 'deny') return r;
    first ??= r;
  }
  return first!;
}

function fixFor(p: Pending, compiled: CompiledPolicy, ast: PolicyAst, byIndex: Map<number, AstRule>): Fix {
  if (p.denyRule !== null) {
    const r = byIndex.get(p.denyRule);
    if (r && r.action === 'deny') return { kind: 'remove-deny', rule: ruleRef(r) };
  }
  const allowRule = matchingAllowRule(p, compiled, ast, byIndex);
  const ports = [...p.ports].sort((a, b) => a - b);
  if (allowRule) {
    const addPorts = ports.filter((x) => !covers(allowRule.ports, x));
    const dropProto = allowRule.proto !== 'any' && [...p.protos].some((x) => x !== allowRule.proto);
    if (addPorts.length > 0 || dropProto) return { kind: 'extend', rule: ruleRef(allowRule), addPorts, dropProto };
  }
  const lines = [`  - ${p.targetKind}: ${yamlScalar(p.target)}`];
  if (ports.length > 0) lines.push(`    ports: [${ports.join(', ')}]`);
  if (p.protos.size === 1) lines.push(`    proto: ${[...p.protos][0]}`);
  return { kind: 'add', yaml: lines.join('\n') };
}

/** The lowest allow rule whose name or address part matches the target, whatever the port and protocol. */
function matchingAllowRule(
  p: Pending,
  compiled: CompiledPolicy,
  ast: PolicyAst,
  byIndex: Map<number, AstRule>,
): AstRule | undefined {
  if (p.targetKind === 'host') {
    // Allow rules match a lookup whose port and protocol are unknown (docs/FORMAT.md), so this finds the lowest
    // allow rule naming the target, unless an explicit deny matches every use (handled before).
    const r = compiled.decideName(p.target);
    if (r.decision === 'allow' && r.ruleIndex !== null) return byIndex.get(r.ruleIndex);
    return undefined;
  }
  for (const rule of ast.rules) {
    if (rule.action !== 'allow' || rule.target.kind !== 'ip') continue;
    const port = rule.ports[0]?.[0] ?? 1;
    const proto = rule.proto === 'any' ? 'tcp' : rule.proto;
    const r = compiled.decideAddr(p.target, port, proto);
    if (r.decision === 'allow' && r.ruleIndex !== null && byIndex.get(r.ruleIndex)?.target.kind === 'ip') {
      return byIndex.get(r.ruleIndex);
    }
  }
  return undefined;
}
