/**
 * From aggregated destinations to the allow rules `suggest` proposes (rendering is `./render.ts`).
 *
 * - A destination with a name (a lookup, or a connect/send bound to a name) becomes a name rule: its ports are every
 *   port seen with that name (none seen = every port, said in the comment); `proto` is written only when every use
 *   with a known protocol agreed on one.
 * - A connect/send without a name becomes an address rule.
 * - Names are grouped by `collapseNames` (wildcards, `./wildcard.ts`), addresses by `groupAddresses` (CIDRs).
 * - Omitted destinations (loopback, the guard's built-ins such as the Runtime API and X-Ray, numeric lookups) give no
 *   rule.
 */
import type { Aggregator, Destination } from './aggregate.js';
import type { Proto } from './events.js';
import { groupAddresses } from './ipgroup.js';
import { collapseNames } from './wildcard.js';

export const DEFAULT_MIN_SIBLINGS = 3;

export interface Usage {
  count: number;
  byEvent: { dns: number; connect: number; sendto: number };
  functions: Map<string, number>;
  logged: { allow: number; deny: number; blocked: number };
  rules: Map<string, number>;
  ports: Set<number>;
  protos: Set<Proto>;
}

export interface SuggestedRule {
  kind: 'host' | 'wildcard' | 'ip' | 'cidr';
  /** host name, wildcard suffix (without `*.`), address, or CIDR text */
  value: string;
  /** the observed names/addresses this rule covers */
  members: string[];
  ports: number[];
  proto?: Proto;
  usage: Usage;
}

export interface PlanOptions {
  minSiblings: number;
}

export function emptyUsage(): Usage {
  return {
    count: 0,
    byEvent: { dns: 0, connect: 0, sendto: 0 },
    functions: new Map(),
    logged: { allow: 0, deny: 0, blocked: 0 },
    rules: new Map(),
    ports: new Set(),
    protos: new Set(),
  };
}

export function addUsage(u: Usage, d: Destination | Usage): void {
  u.count += d.count;
  u.byEvent.dns += d.byEvent.dns;
  u.byEvent.connect += d.byEvent.connect;
  u.byEvent.sendto += d.byEvent.sendto;
  for (const [f, n] of d.functions) u.functions.set(f, (u.functions.get(f) ?? 0) + n);
  u.logged.allow += d.logged.allow;
  u.logged.deny += d.logged.deny;
  u.logged.blocked += d.logged.blocked;
  for (const [r, n] of d.rules) u.rules.set(r, (u.rules.get(r) ?? 0) + n);
  if ('ports' in d) {
    for (const p of d.ports) u.ports.add(p);
    for (const p of d.protos) u.protos.add(p);
  } else {
    if (d.port !== undefined) u.ports.add(d.port);
    if (d.proto !== undefined) u.protos.add(d.proto);
  }
}

/** Destinations that need a rule, split into named and address-only usage. */
export function usageByTarget(agg: Aggregator): { names: Map<string, Usage>; addrs: Map<string, Usage> } {
  const names = new Map<string, Usage>();
  const addrs = new Map<string, Usage>();
  for (const d of agg.destinations.values()) {
    if (d.omit !== undefined) continue;
    const [map, key] = d.host !== undefined ? [names, d.host] : [addrs, d.ip!];
    let u = map.get(key);
    if (!u) {
      u = emptyUsage();
      map.set(key, u);
    }
    addUsage(u, d);
  }
  return { names, addrs };
}

export function planRules(agg: Aggregator, opts: PlanOptions): SuggestedRule[] {
  const { names, addrs } = usageByTarget(agg);
  const out: SuggestedRule[] = [];
  for (const g of collapseNames(names.keys(), opts.minSiblings)) {
    out.push(rule(g.kind === 'exact' ? 'host' : 'wildcard', g.name, g.members, names));
  }
  for (const g of groupAddresses(addrs.keys(), opts.minSiblings)) {
    out.push(rule(g.kind, g.value, g.members, addrs));
  }
  return out;
}

function rule(kind: SuggestedRule['kind'], value: string, members: string[], from: Map<string, Usage>): SuggestedRule {
  const usage = emptyUsage();
  for (const m of members) addUsage(usage, from.get(m)!);
  const r: SuggestedRule = { kind, value, members, ports: [...usage.ports].sort((a, b) => a - b), usage };
  if (usage.protos.size === 1) r.proto = [...usage.protos][0]!;
  return r;
}
