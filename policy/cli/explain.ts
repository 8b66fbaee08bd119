/**
 * `egress-guard explain <policy.yaml|file.egp> <host|ip>[:port] [--udp|--tcp] [--name NAME] [--json]`:
 * prints the decision for one destination and the rule that made it, computed by the reference matcher over the
 * compiled bytes (exactly what the interposer decides).
 * - A host without a port is the lookup decision (port unknown; protocol unknown unless --tcp/--udp); with a port it
 *   is the decision for using that name on that port (TCP unless --udp). The host is read as the resolver reads what a
 *   program passes it (`readLookupName`: escapes decoded, case and a trailing dot normalised); a name the interposer
 *   cannot read that way is denied with rule `dns-malformed`, as the interposer refuses it.
 * - An address (IPv4, IPv6, IPv6 with a port as `[2001:db8::1]:443`) is the connect decision; `--name` gives the
 *   name it was resolved from (the interposer's bound name).
 * Exit: 0 allow, 1 deny, 2 usage or policy error. `--json` prints one JSON object.
 */

import { RULE_CODES } from '../gen/format.js';
import { readLookupName } from '../names/lookup.js';
import { parseAddr } from '../net/ip.js';
import { parse, str } from './args.js';
import { loadAnyPolicy } from './load.js';
import { reportError } from './report.js';
import { type CliIO, EXIT_FAIL, EXIT_OK, UsageError } from './types.js';

export const EXPLAIN_USAGE = `usage: egress-guard explain <policy.yaml|file.egp> <host|ip>[:port] [options]
  Shows the decision for a destination and the rule that made it.
  examples: explain policy.yaml api.example.com          (lookup: port unknown)
            explain policy.yaml api.example.com:443      (use of the name on TCP 443)
            explain policy.egp 10.1.2.3:5432 --name db.internal
            explain policy.yaml [2001:db8::1]:443 --udp
  --udp / --tcp   protocol (default: tcp when a port is given, unknown otherwise)
  --name NAME     for an address: the name it was resolved from
  --json          print one JSON object
  exit status: 0 allow, 1 deny, 2 usage or policy error
`;

/** The rule the interposer reports for a name it cannot read as one DNS name (docs/POLICY.md "Names in lookups"). */
const MALFORMED = RULE_CODES.DNS_MALFORMED.display;

export interface ExplainTarget {
  kind: 'name' | 'addr';
  dest: string;
  port: number | undefined;
}

export function parseTarget(text: string): ExplainTarget {
  let dest = text.trim();
  let portText: string | undefined;
  if (dest.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(.*))?$/.exec(dest);
    if (!m) throw new UsageError('E_TARGET', `cannot read ${JSON.stringify(text)}: write [2001:db8::1]:443`);
    dest = m[1]!;
    portText = m[2];
  } else if (dest.split(':').length === 2) {
    [dest, portText] = dest.split(':') as [string, string];
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new UsageError('E_TARGET', `port ${JSON.stringify(portText)} is not 1–65535`);
    }
    port = Number(portText);
  }
  if (dest === '') throw new UsageError('E_TARGET', 'no host or address given');
  return { kind: parseAddr(dest) ? 'addr' : 'name', dest, port };
}

export async function explainCommand(argv: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parse(argv, {
      udp: { type: 'boolean' },
      tcp: { type: 'boolean' },
      name: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout(EXPLAIN_USAGE);
      return EXIT_OK;
    }
    if (positionals.length !== 2) throw new UsageError('E_USAGE', 'give a policy file and one host or address');
    if (values.udp && values.tcp) throw new UsageError('E_USAGE', '--udp and --tcp exclude each other');
    const target = parseTarget(positionals[1]!);
    if (target.kind === 'name' && values.name !== undefined) {
      throw new UsageError('E_USAGE', '--name applies to an address, not to a host name');
    }
    const { policy } = await loadAnyPolicy(positionals[0]!, io.cwd);
    const proto = values.udp ? 'udp' : values.tcp ? 'tcp' : target.port !== undefined ? 'tcp' : undefined;
    const looked = target.kind === 'name' ? readLookupName(target.dest) : null;
    const r =
      target.kind === 'addr'
        ? policy.decideAddr(target.dest, target.port, proto, str(values.name))
        : looked === null
          ? { decision: 'deny' as const, rule: MALFORMED, ruleIndex: null }
          : policy.decideName(looked, target.port, proto);
    const rule = r.ruleIndex === null ? undefined : policy.rules[r.ruleIndex];
    if (values.json) {
      io.stdout(
        `${JSON.stringify({
          target: target.dest,
          kind: target.kind,
          normalized: target.kind === 'name' ? (looked ?? null) : undefined,
          port: target.port ?? null,
          proto: proto ?? null,
          boundName: str(values.name) ?? null,
          decision: r.decision,
          rule: r.rule,
          ruleIndex: r.ruleIndex,
          line: rule?.line ?? null,
          mode: policy.mode,
        })}\n`,
      );
    } else {
      const dest = target.dest.includes(':') ? `[${target.dest}]` : target.dest;
      const what = `${dest}${target.port !== undefined ? `:${target.port}` : ''}${proto ? `/${proto}` : ''}`;
      const lines = [`${r.decision.padEnd(5)}  ${what}${values.name ? ` (resolved from ${str(values.name)})` : ''}`];
      if (rule) {
        const ports =
          rule.ports.length === 0
            ? 'any port'
            : `ports ${rule.ports.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(',')}`;
        lines.push(
          `  rule  ${rule.name} (${rule.action} rule #${rule.index}, ${rule.kind}, ${ports}, ${rule.proto === 'any' ? 'tcp+udp' : rule.proto}${rule.line ? `, line ${rule.line}` : ''})`,
        );
      } else {
        const why =
          r.rule === 'default'
            ? ' (no rule allows it)'
            : r.rule === MALFORMED
              ? ' (not one readable DNS name: the resolver would query something else or nothing; IDNs are passed as xn-- punycode)'
              : ' (loopback is allowed by default; `loopback: deny` turns it off)';
        lines.push(`  rule  ${r.rule}${why}`);
      }
      const effect =
        r.decision === 'allow' ? 'allowed' : policy.mode === 'enforce' ? 'blocked' : 'logged only (audit mode)';
      lines.push(`  mode  ${policy.mode}: ${effect}`);
      io.stdout(`${lines.join('\n')}\n`);
    }
    return r.decision === 'allow' ? EXIT_OK : EXIT_FAIL;
  } catch (err) {
    return reportError(io, 'explain', EXPLAIN_USAGE, err, 2);
  }
}
