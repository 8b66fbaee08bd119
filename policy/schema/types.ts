/**
 * The shape of a policy file (version 1) as TypeScript types. `./schema.ts` is the JSON Schema of exactly these
 * types (tied by `JSONSchemaType<PolicyDoc>`): the single source of truth for which keys exist and their JSON types.
 * Everything finer (CIDR syntax, port ranges, units, wildcard forms) is checked by `../semantic/`.
 */

/** A port (`443`) or a port range string (`"8000-8100"`; also `"443"`). */
export type PortSpec = number | string;

export interface RuleObject {
  /** display name used in logs; default `allow[i]` / `deny[i]` */
  name?: string;
  host?: string;
  cidr?: string;
  ip?: string;
  /** path of a names file, relative to the policy file */
  hosts_file?: string;
  ports?: PortSpec[];
  proto?: 'tcp' | 'udp';
}

/** `"host[:port]"`, `"ip[:port]"`, `"cidr[:port]"`, `"[ipv6]:port"` shorthand, or a rule object. */
export type RuleSpec = string | RuleObject;

/** bytes as a number or a size string such as `"50MiB"` */
export type SizeSpec = number | string;

export interface BudgetSpec {
  rxBytes?: SizeSpec;
  txBytes?: SizeSpec;
  totalBytes?: SizeSpec;
}

export interface PolicyDoc {
  version: 1;
  mode?: 'audit' | 'enforce';
  loopback?: 'allow' | 'deny';
  allow?: RuleSpec[];
  deny?: RuleSpec[];
  budgets?: { perInvoke?: BudgetSpec };
}
