/**
 * An independent, deliberately straightforward implementation of the policy semantics of docs/POLICY.md
 * ("Decisions"), written from the checked policy (the AST) — never from the compiled file — to serve as the oracle
 * for the compiled format + reference matcher (`decode(encode(policy))` must decide exactly like this).
 *
 * It shares nothing with the matcher: names files are re-read and parsed here, name normalisation and address
 * matching are re-implemented (addresses via `node:net` BlockList), and every rule is tried in order.
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import type { PolicyAst } from '../../policy/index.js';

type Proto = 'tcp' | 'udp';
export interface RefResult {
  decision: 'allow' | 'deny';
  rule: string;
  ruleIndex: number | null;
}

export function refNormalize(name: string): string {
  let n = name.endsWith('.') ? name.slice(0, -1) : name;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII range test
  if (/^[\x00-\x7f]*$/.test(n)) return n.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const a = domainToASCII(n);
  n = a === '' ? n.replace(/[A-Z]/g, (c) => c.toLowerCase()) : a;
  return n;
}

interface RefRule {
  index: number;
  name: string;
  action: 'allow' | 'deny';
  proto: 'tcp' | 'udp' | 'any';
  ports: Array<[number, number]>;
  exact: Set<string>;
  wild: string[];
  addrs: BlockList | null;
}

export class Reference {
  private readonly rules: RefRule[];
  constructor(private readonly ast: PolicyAst) {
    this.rules = ast.rules.map((r) => {
      const rr: RefRule = {
        index: r.index,
        name: r.name,
        action: r.action,
        proto: r.proto,
        ports: r.ports,
        exact: new Set(),
        wild: [],
        addrs: null,
      };
      const t = r.target;
      if (t.kind === 'host') rr.exact.add(t.name);
      if (t.kind === 'wildcard') rr.wild.push(t.suffix);
      if (t.kind === 'ip') {
        rr.addrs = new BlockList();
        const [addr, len] = t.text.split('/');
        const family = isIPv4(addr!) ? 'ipv4' : 'ipv6';
        rr.addrs.addSubnet(addr!, len === undefined ? (family === 'ipv4' ? 32 : 128) : Number(len), family);
      }
      if (t.kind === 'names-file') {
        for (const raw of readFileSync(t.path, 'utf8')
          .replace(/^\uFEFF/, '')
          .split('\n')) {
          const line = raw.replace(/#.*/, '').trim();
          if (line === '') continue;
          if (line.startsWith('*.')) rr.wild.push(refNormalize(line.slice(2)));
          else rr.exact.add(refNormalize(line));
        }
      }
      return rr;
    });
  }

  private usable(r: RefRule, port: number | undefined, proto: Proto | undefined): boolean {
    if (proto !== undefined && r.proto !== 'any' && r.proto !== proto) return false;
    if (r.action === 'deny' && proto === undefined && r.proto !== 'any') return false;
    if (r.ports.length === 0) return true;
    if (port === undefined) return r.action === 'allow';
    return r.ports.some(([lo, hi]) => lo <= port && port <= hi);
  }

  private nameMatches(r: RefRule, n: string): boolean {
    return r.exact.has(n) || r.wild.some((s) => n.endsWith(`.${s}`));
  }

  private first(action: 'allow' | 'deny', test: (r: RefRule) => boolean): RefRule | undefined {
    return this.rules.find((r) => r.action === action && test(r));
  }

  decideName(name: string, port?: number, proto?: Proto): RefResult {
    const n = refNormalize(name);
    for (const action of ['deny', 'allow'] as const) {
      const r = this.first(action, (x) => this.nameMatches(x, n) && this.usable(x, port, proto));
      if (r) return { decision: action, rule: r.name, ruleIndex: r.index };
    }
    if (this.ast.loopback === 'allow' && n === 'localhost') {
      return { decision: 'allow', rule: 'builtin:loopback', ruleIndex: null };
    }
    return { decision: 'deny', rule: 'default', ruleIndex: null };
  }

  /** IPv4-mapped IPv6 is the IPv4 address; an IPv4 address also matches IPv6 rules covering its mapped form. */
  private addrMatches(r: RefRule, ip: string): boolean {
    if (!r.addrs) return false;
    const v4 = toV4(ip);
    if (v4 !== null) return r.addrs.check(v4, 'ipv4') || r.addrs.check(`::ffff:${v4}`, 'ipv6');
    return r.addrs.check(ip, 'ipv6');
  }

  decideAddr(ip: string, port: number, proto: Proto, boundName?: string): RefResult {
    const n = boundName === undefined ? null : refNormalize(boundName);
    const steps: Array<['allow' | 'deny', (r: RefRule) => boolean]> = [
      ['deny', (r) => this.addrMatches(r, ip)],
      ['deny', (r) => n !== null && this.nameMatches(r, n)],
      ['allow', (r) => this.addrMatches(r, ip)],
      ['allow', (r) => n !== null && this.nameMatches(r, n)],
    ];
    for (const [action, test] of steps) {
      const r = this.first(action, (x) => test(x) && this.usable(x, port, proto));
      if (r) return { decision: action, rule: r.name, ruleIndex: r.index };
    }
    const v4 = toV4(ip);
    const loop = v4 !== null ? v4.startsWith('127.') : expandV6(ip) === '0000:0000:0000:0000:0000:0000:0000:0001';
    if (this.ast.loopback === 'allow' && loop) return { decision: 'allow', rule: 'builtin:loopback', ruleIndex: null };
    return { decision: 'deny', rule: 'default', ruleIndex: null };
  }
}

/** Dotted IPv4 for an IPv4 address or an IPv4-mapped IPv6 address; null otherwise. */
function toV4(ip: string): string | null {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) throw new Error(`bad address ${ip}`);
  const full = expandV6(ip);
  if (!full.startsWith('0000:0000:0000:0000:0000:ffff:')) return null;
  const hex = full.slice(30).replace(':', '');
  return [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join('.');
}

/** Eight 4-digit lower-case groups (embedded dotted IPv4 converted). */
function expandV6(ip: string): string {
  let s = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    s = `${s.slice(0, dotted.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}
