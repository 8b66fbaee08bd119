/**
 * Warnings: legal policies that probably do not do what their author meant. Each is a diagnostic with severity
 * `warning` at the rule it is about; compiling still succeeds.
 *
 * - RULE_SHADOWED: every use a rule matches is matched by an EARLIER rule of the same list (a lower index), so it
 *   never decides anything (the lowest matching index decides: docs/FORMAT.md "Decisions"). A narrower rule placed
 *   before a broader one is not shadowed — it attributes its names to itself.
 * - ALLOW_CANCELLED_BY_DENY: a deny rule covers every name/address, port and protocol of an allow rule, so the
 *   allow rule never allows anything (deny wins).
 * - WILDCARD_PUBLIC_SUFFIX: an allow wildcard over a public suffix (`*.com`, `*.co.uk`): every site under it.
 * - ALLOW_ALL_ADDRESSES: an allow `cidr` with prefix /0.
 * - CIDR_INCLUDES_IPV4: an IPv6 allow/deny network that contains all of `::ffff:0:0/96` also matches every IPv4
 *   address (IPv4-mapped addresses are IPv4 addresses).
 * Rules from names files take no part in the pairwise checks (their names are not held in memory as objects);
 * `namesFileCancellations` finds allow rules cancelled by a names-file deny rule through the compiled tables.
 * The pairwise checks are O(rules²) and skipped above `MAX_PAIRWISE_RULES` rules.
 */
import { getPublicSuffix } from 'tldts';
import type { Diagnostic } from '../diagnostics.js';
import type { CompiledPolicy } from '../match/compiled.js';
import { V4_MAPPED_BASE, V4_MAPPED_LAST } from '../net/ip.js';
import type { PolicySource } from '../parse/source.js';
import type { AstRule, PolicyAst } from './ast.js';

export const MAX_PAIRWISE_RULES = 5000;

/** Does `s`'s destination contain every destination of `r`? (names-file rules: never) */
export function targetCovers(s: AstRule, r: AstRule): boolean {
  const a = s.target;
  const b = r.target;
  if (a.kind === 'host') return b.kind === 'host' && b.name === a.name;
  if (a.kind === 'wildcard') {
    if (b.kind === 'host') return b.name.endsWith(`.${a.suffix}`);
    if (b.kind === 'wildcard') return b.suffix === a.suffix || b.suffix.endsWith(`.${a.suffix}`);
    return false;
  }
  if (a.kind === 'ip') return b.kind === 'ip' && a.v === b.v && a.start <= b.start && b.end <= a.end;
  return false;
}

/** Does `s` match every (port, protocol) use that `r` matches? */
export function useCovers(s: AstRule, r: AstRule): boolean {
  if (s.proto !== 'any' && s.proto !== r.proto) return false;
  if (s.ports.length === 0) return true;
  if (r.ports.length === 0) return false;
  // s.ports are merged (disjoint, non-adjacent): each range of r must lie inside one of them
  return r.ports.every(([lo, hi]) => s.ports.some(([a, b]) => a <= lo && hi <= b));
}

function label(r: AstRule): string {
  return `\`${r.name}\` (line ${r.line})`;
}

export function findWarnings(src: PolicySource, ast: PolicyAst): Diagnostic[] {
  const out: Diagnostic[] = [];
  const warn = (code: string, message: string, r: AstRule) =>
    out.push(src.diag(code, message, r.path, 'value', 'warning'));
  const rules = ast.rules.filter((r) => r.target.kind !== 'names-file');

  if (rules.length <= MAX_PAIRWISE_RULES) {
    for (const r of rules) {
      const earlier = rules.find(
        (s) => s.action === r.action && s.index < r.index && targetCovers(s, r) && useCovers(s, r),
      );
      if (earlier) {
        warn(
          'RULE_SHADOWED',
          `${label(r)} never decides anything: the earlier ${r.action} rule ${label(earlier)} matches everything it matches. Remove it, or move it above the broader rule if you want it named in the logs`,
          r,
        );
        continue;
      }
      if (r.action === 'allow') {
        const deny = rules.find((d) => d.action === 'deny' && targetCovers(d, r) && useCovers(d, r));
        if (deny) {
          warn(
            'ALLOW_CANCELLED_BY_DENY',
            `${label(r)} never allows anything: deny rule ${label(deny)} covers every destination, port and protocol it allows (deny always wins). Remove one of them`,
            r,
          );
        }
      }
    }
  }

  for (const r of ast.rules) {
    const t = r.target;
    if (r.action === 'allow' && t.kind === 'wildcard' && getPublicSuffix(`x.${t.suffix}`) === t.suffix) {
      warn(
        'WILDCARD_PUBLIC_SUFFIX',
        `\`*.${t.suffix}\` allows every site under the public suffix ".${t.suffix}": name the domains you need instead`,
        r,
      );
    }
    if (
      t.kind === 'ip' &&
      r.action === 'allow' &&
      t.start === 0n &&
      t.end === (t.v === 4 ? 0xffffffffn : (1n << 128n) - 1n)
    ) {
      warn(
        'ALLOW_ALL_ADDRESSES',
        `${label(r)} allows every IPv${t.v} address: the policy no longer limits addresses`,
        r,
      );
    }
    if (t.kind === 'ip' && t.v === 6 && t.start <= V4_MAPPED_BASE && t.end >= V4_MAPPED_LAST) {
      warn(
        'CIDR_INCLUDES_IPV4',
        `${label(r)} contains ::ffff:0:0/96, so it also matches every IPv4 address (IPv4-mapped addresses are looked up as IPv4)`,
        r,
      );
    }
  }
  return out;
}

/**
 * ALLOW_CANCELLED_BY_DENY for names files: an allow `host` (or `*.suffix`) rule whose name (every name below the
 * suffix) is denied on every port and protocol it allows by a deny rule's names file. Uses the compiled name tables,
 * so it costs a few hash probes per allow rule whatever the size of the files. `already` = rules warned about.
 */
export function namesFileCancellations(
  src: PolicySource,
  ast: PolicyAst,
  compiled: CompiledPolicy,
  already: ReadonlySet<number>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!ast.rules.some((r) => r.action === 'deny' && r.target.kind === 'names-file')) return out;
  for (const a of ast.rules) {
    if (a.action !== 'allow' || already.has(a.index)) continue;
    const t = a.target;
    const cands =
      t.kind === 'host'
        ? compiled.candidateRules(t.name)
        : t.kind === 'wildcard'
          ? compiled.candidateRules(`*.${t.suffix}`, false)
          : [];
    const deny = cands
      .map((i) => ast.rules[i]!)
      .find((d) => d.action === 'deny' && d.target.kind === 'names-file' && useCovers(d, a));
    if (deny) {
      out.push(
        src.diag(
          'ALLOW_CANCELLED_BY_DENY',
          `${label(a)} never allows anything: the names file of deny rule ${label(deny)} lists ${t.kind === 'host' ? 'this name' : 'a parent of these names'} (deny always wins). Remove one of them`,
          a.path,
          'value',
          'warning',
        ),
      );
    }
  }
  return out;
}
