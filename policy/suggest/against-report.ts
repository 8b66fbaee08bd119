/**
 * Text form of an `--against` report (the JSON form is the `AgainstReport` object itself, with maps as objects).
 * Deterministic: sorted, no clock, no absolute paths beyond the policy file name given.
 */
import type { AgainstReport, Denied, RuleRef } from './against.js';
import { humanBytes } from './budgets.js';
import type { Usage } from './plan.js';
import { functionsText, n, safe, times } from './render.js';

function where(r: RuleRef, file: string): string {
  return `${r.name} (${file}:${r.line}, ${r.target})`;
}

function useText(u: Usage): string {
  return `seen ${times(u.count)} by ${functionsText(u.functions)}`;
}

function deniedLines(d: Denied, file: string): string[] {
  const ports = d.ports.length > 0 ? `:${d.ports.join(',')}` : '';
  const target = d.targetKind === 'ip' && d.target.includes(':') && ports !== '' ? `[${d.target}]` : d.target;
  const protos = d.protos.length > 0 ? ` ${d.protos.join('/')}` : '';
  const logged =
    d.usage.logged.deny > 0
      ? `logged ${n(d.usage.logged.deny)} denied${d.usage.logged.blocked > 0 ? ` (${n(d.usage.logged.blocked)} blocked)` : ''}`
      : 'logged as allowed';
  const out = [
    `  ${target}${ports}${protos}: ${useText(d.usage)}; ${logged}; denied here by ${d.deciders.map(safe).join(', ')}`,
  ];
  const f = d.fix;
  if (f.kind === 'remove-deny' && f.rule) {
    out.push(`    fix: remove or narrow ${where(f.rule, file)}: an allow rule cannot override a deny`);
  } else if (f.kind === 'extend' && f.rule) {
    const what: string[] = [];
    if (f.addPorts && f.addPorts.length > 0)
      what.push(`add port${f.addPorts.length > 1 ? 's' : ''} ${f.addPorts.join(', ')}`);
    if (f.dropProto) what.push(`remove its proto restriction (${d.protos.join('/')} was used)`);
    out.push(`    fix: change ${where(f.rule, file)}: ${what.join(' and ')}`);
  } else if (f.yaml) {
    out.push('    fix: add under allow:');
    for (const l of f.yaml.split('\n')) out.push(`    ${l}`);
  }
  return out;
}

export function renderAgainst(r: AgainstReport): string {
  const file = r.policyFile;
  const out: string[] = [];
  out.push(
    `egress-guard suggest --against ${file}: ${n(r.checked)} observed destinations checked, ` +
      `${n(r.denied.length)} denied, ${n(r.unusedAllow.length)} allow rules never used`,
  );
  out.push('');
  if (r.denied.length === 0) out.push('Denied: none: the policy allows everything observed.');
  else {
    out.push(`Denied (${n(r.denied.length)}), with the smallest change that allows each:`);
    for (const d of r.denied) out.push(...deniedLines(d, file));
  }
  if (r.nowAllowed.length > 0) {
    out.push('');
    out.push(`Logged as denied but allowed by this policy (${n(r.nowAllowed.length)}):`);
    for (const a of r.nowAllowed) out.push(`  ${a.target}: ${useText(a.usage)}; now allowed by ${safe(a.rule)}`);
  }
  out.push('');
  if (r.unusedAllow.length === 0) out.push('Unused allow rules: none.');
  else {
    out.push(`Allow rules that decided no observed event (${n(r.unusedAllow.length)}): candidates for removal:`);
    for (const u of r.unusedAllow) out.push(`  ${where(u, file)}`);
  }
  if (r.unusedDeny.length > 0) {
    out.push(`Deny rules that decided no observed event (${n(r.unusedDeny.length)}; expected of protective rules):`);
    for (const u of r.unusedDeny) out.push(`  ${where(u, file)}`);
  }
  if (r.budgets.length > 0) {
    out.push('');
    out.push('Budgets (per invoke; largest per-function p99 and maximum observed):');
    for (const b of r.budgets) {
      const obs = `p99 ${humanBytes(b.p99)} (${safe(b.p99Fn)}), max ${humanBytes(b.max)} (${safe(b.maxFn)})`;
      if (b.budget === null) out.push(`  ${b.key}: no budget; observed ${obs}`);
      else {
        const verdict =
          b.max > b.budget
            ? 'EXCEEDED by the maximum'
            : b.p99 > b.budget * 0.8
              ? 'less than 20% headroom at p99'
              : 'ok';
        out.push(`  ${b.key}: budget ${humanBytes(b.budget)}: ${verdict}; observed ${obs}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** JSON form: Maps become plain objects. */
export function againstJson(r: AgainstReport): string {
  return `${JSON.stringify(r, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v), 2)}\n`;
}
