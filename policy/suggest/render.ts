/**
 * Writes the suggested `policy.yaml`: a header saying what was read and what was left out, one commented rule per
 * destination group (how often, by which functions, what the guard logged), and proposed budgets.
 * The text depends only on the aggregated input (no clock, no paths), so the same logs give the same bytes.
 */
import type { Aggregator, Stats } from './aggregate.js';
import { type BudgetProposal, humanBytes, QUANTILE } from './budgets.js';
import type { SuggestedRule, Usage } from './plan.js';

export interface RenderOptions {
  mode: 'audit' | 'enforce';
  minSiblings: number;
  margin: number;
}

const MAX_FUNCTIONS_SHOWN = 5;
const MAX_MEMBERS_SHOWN = 8;
/** A wildcard collecting this many names is flagged for review (random labels can be DNS tunnelling). */
export const MANY_MEMBERS = 50;

/**
 * Text from the logs (function names, rule names, paths) is data, never YAML: control characters (a newline would end
 * the comment and start a rule) become `?`, and it is cut at 120 characters.
 */
export function safe(text: string): string {
  let t = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    t += c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 ? '?' : ch;
  }
  return t.length > 120 ? `${t.slice(0, 119)}…` : t;
}

export function n(x: number): string {
  return x.toLocaleString('en-US');
}

export function times(x: number): string {
  return x === 1 ? 'once' : `${n(x)} times`;
}

/** `orders-api (1,100), billing (4) and 3 more` */
export function functionsText(fns: Map<string, number>): string {
  const list = [...fns].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = list.slice(0, MAX_FUNCTIONS_SHOWN).map(([f, c]) => `${safe(f)} (${n(c)})`);
  const more = list.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function eventsText(u: Usage): string {
  const parts: string[] = [];
  if (u.byEvent.connect > 0) parts.push(`connect ${n(u.byEvent.connect)}`);
  if (u.byEvent.sendto > 0) parts.push(`sendto ${n(u.byEvent.sendto)}`);
  if (u.byEvent.dns > 0) parts.push(`dns ${n(u.byEvent.dns)}`);
  return parts.join(', ');
}

function loggedText(u: Usage): string {
  const rules = [...u.rules]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([r, c]) => `${safe(r)} ×${n(c)}`)
    .join(', ');
  if (u.logged.deny === 0) return `logged as allowed (${rules})`;
  const blocked = u.logged.blocked > 0 ? `, ${n(u.logged.blocked)} blocked` : '';
  return `logged ${n(u.logged.allow)} allowed, ${n(u.logged.deny)} denied${blocked} (${rules})`;
}

/** YAML flow list of ports, consecutive runs of 3+ written as ranges. */
export function portsYaml(ports: number[]): string {
  const items: string[] = [];
  for (let i = 0; i < ports.length; ) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === ports[j]! + 1) j++;
    if (j - i >= 2) items.push(`"${ports[i]}-${ports[j]}"`);
    else for (let k = i; k <= j; k++) items.push(String(ports[k]));
    i = j + 1;
  }
  return `[${items.join(', ')}]`;
}

function ruleLines(r: SuggestedRule, minSiblings: number): string[] {
  const u = r.usage;
  const out: string[] = [];
  const label = r.kind === 'wildcard' ? `*.${r.value}` : r.value;
  out.push(
    `  # ${label}: seen ${times(u.count)} (${eventsText(u)}) by ${functionsText(u.functions)}; ${loggedText(u)}`,
  );
  if (r.kind === 'wildcard') {
    out.push(
      `  # ${n(r.members.length)} distinct names below ${r.value} (wildcard threshold ${minSiblings}): ${shown(r.members)}`,
    );
    if (r.members.length >= MANY_MEMBERS) {
      out.push(`  # REVIEW: many distinct names under one parent can be per-tenant names or DNS tunnelling.`);
    }
  }
  if (r.kind === 'cidr') {
    out.push(`  # ${n(r.members.length)} addresses share this prefix (threshold ${minSiblings}): ${shown(r.members)}`);
  }
  if (r.ports.length === 0) {
    out.push('  # no port was observed (only looked up): every port is allowed; narrow it if you know the port');
  }
  const key = r.kind === 'wildcard' ? 'host' : r.kind;
  out.push(`  - ${key}: ${yamlScalar(label)}`);
  if (r.ports.length > 0) out.push(`    ports: ${portsYaml(r.ports)}`);
  if (r.proto !== undefined) out.push(`    proto: ${r.proto}`);
  return out;
}

function shown(members: string[]): string {
  const s = members.slice(0, MAX_MEMBERS_SHOWN).join(', ');
  return members.length > MAX_MEMBERS_SHOWN ? `${s} … (+${n(members.length - MAX_MEMBERS_SHOWN)})` : s;
}

/** Plain scalar when safe, else a double-quoted (JSON-compatible) YAML string. */
export function yamlScalar(s: string): string {
  return /^[a-z0-9][a-z0-9._-]*$/.test(s) && !/^[0-9.]+$/.test(s) ? s : JSON.stringify(s);
}

function iso(t: number | undefined): string {
  return t === undefined ? '?' : new Date(t).toISOString();
}

export function headerLines(stats: Stats, lines: number): string[] {
  const out: string[] = [];
  out.push(
    '# Suggested by `egress-guard suggest` from observed traffic. REVIEW IT BEFORE ENFORCING (docs/SUGGEST.md).',
  );
  out.push(
    `# Read ${n(lines)} lines: ${n(stats.guardRecords)} guard records (${n(stats.netEvents)} network events, ` +
      `${n(stats.invokes)} invoke summaries), ${n(stats.foreign)} other lines or events skipped, ${n(badCount(stats))} bad lines.`,
  );
  if (stats.firstTime !== undefined) out.push(`# Observed from ${iso(stats.firstTime)} to ${iso(stats.lastTime)}.`);
  const omitted = [...stats.omitted].sort();
  if (omitted.length > 0) {
    const what: Record<string, string> = {
      loopback: 'loopback',
      builtin: 'always-allowed built-in (Runtime API, X-Ray)',
      'numeric-lookup': 'numeric lookup',
    };
    out.push(`# Left out (need no rule): ${omitted.map(([k, v]) => `${n(v)} ${what[k] ?? k}`).join(', ')} events.`);
  }
  if (stats.unattributed > 0) {
    out.push(`# ${n(stats.unattributed)} network events could not be tied to a function (no invoke summary with their`);
    out.push(
      '# request id, no log stream): they are listed as (unknown). Use --function NAME for single-function logs.',
    );
  }
  for (const p of [...stats.uncovered].sort()) {
    out.push(`# WARNING: ${safe(p)} ran unguarded (statically linked): its traffic is not in these logs.`);
  }
  for (const e of [...stats.policyErrors].sort()) out.push(`# WARNING: the guard reported policy error ${safe(e)}.`);
  return out;
}

export function badCount(stats: Stats): number {
  let c = 0;
  for (const b of stats.bad.values()) c += b.count;
  return c;
}

export function renderPolicy(
  agg: Aggregator,
  lines: number,
  rules: SuggestedRule[],
  budgets: BudgetProposal | null,
  opts: RenderOptions,
): string {
  const out = headerLines(agg.stats, lines);
  out.push('version: 1');
  out.push(
    opts.mode === 'audit'
      ? 'mode: audit # audit logs what enforce would block; set enforce once you have reviewed this file'
      : 'mode: enforce # blocks everything not allowed below',
  );
  const loop = agg.stats.omitted.get('loopback') ?? 0;
  if (loop > 0) out.push(`loopback: allow # ${n(loop)} loopback events were observed`);
  if (rules.length === 0) {
    out.push('# no destination was observed: nothing is allowed');
    out.push('allow: []');
  } else {
    out.push('allow:');
    for (const r of rules) out.push(...ruleLines(r, opts.minSiblings));
  }
  if (budgets) {
    out.push('budgets:');
    out.push(
      `  # per-invoke bytes from ${n(budgets.invokes)} invokes of ${n(budgets.functions)} functions: the largest ` +
        `per-function p${Math.round(QUANTILE * 100)} × ${opts.margin}, rounded up`,
    );
    if (budgets.concurrent > 0) {
      out.push(
        `  # ${n(budgets.concurrent)} invokes overlapped others (concurrent): their bytes are not per-invoke, not used`,
      );
    }
    if (budgets.invokes < 100) {
      out.push(`  # only ${n(budgets.invokes)} invokes: p99 is close to the maximum; review with more traffic`);
    }
    out.push('  perInvoke:');
    for (const b of budgets.lines) {
      out.push(
        `    # p99 ${humanBytes(b.p99)} (${safe(b.fn)}, ${n(b.invokes)} invokes) × ${opts.margin} = ${humanBytes(b.p99 * opts.margin)}`,
      );
      out.push(`    ${b.key}: ${b.value}`);
    }
  }
  return `${out.join('\n')}\n`;
}
