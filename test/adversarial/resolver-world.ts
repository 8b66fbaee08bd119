/**
 * The world of the resolver attacks (test/adversarial/resolver*.test.ts): a network namespace with a DNS server that
 * records every query it receives, and attack scripts run the way a compromised dependency would run — plain Python
 * or Node, as an unprivileged user (`nobody`, via setpriv), under the guard in enforce mode.
 *
 * Addresses (on the namespace's `lo`):
 *   10.77.0.53  the DNS server of the namespace's resolv.conf (A/AAAA from `records`, PTR from `ptr`, NXDOMAIN else)
 *   10.77.0.10  a service the policies allow (http :8080, tcp echo :443 and :8443)
 *   10.77.0.66  the attacker's address: what attacker-controlled names resolve to (http :8080, tcp echo :443, udp :111)
 *
 * API
 * - `createResolverWorld({ prefix, hosts?, records?, ptr?, resolvConf? })` → world (destroy it in afterAll).
 * - `world.policy(name, yaml)` → path of a policy YAML readable by the unprivileged user.
 * - `world.attack({ lang, code, policy, env?, mode?, logLevel?, user?, python? })` runs `code` (`python3 -c` /
 *   `node -e`) as nobody (or root, for clients installed in root's Python) under the guard, guard lines on stderr; returns the run plus `out` (the script's last stdout line as JSON,
 *   or null) and the DNS queries received while it ran (`queries`, names in arrival order, one per question).
 * - `world.dns` is the server (its `events` keep every query since the start).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GuardLog, type GuardResult, runGuarded, scratchDir } from '../support/guard.js';
import { Netns, type NetnsServer, type ServerEvent } from '../support/netns.js';

/** Debian's python3 (the version manager's interpreter under /root is not usable by `nobody`). */
export const PYTHON = '/usr/bin/python3';
export const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

export const DNS_IP = '10.77.0.53';
export const SERVICE_IP = '10.77.0.10';
export const ATTACKER_IP = '10.77.0.66';

export interface ResolverWorldOptions {
  prefix: string;
  hosts?: Record<string, string | string[]>;
  records?: Record<string, string[]>;
  ptr?: Record<string, string>;
  /** Lines after `nameserver 10.77.0.53` and the timeout options (e.g. `search corp.test`). */
  resolvConf?: string;
}

export interface Attack {
  lang: 'python' | 'node';
  code: string;
  /** Run as `nobody` (default), or as root for clients installed in root's Python (`python` then names it). */
  user?: 'nobody' | 'root';
  python?: string;
  /** A policy YAML path (from `world.policy`). */
  policy: string;
  env?: Record<string, string>;
  mode?: 'enforce' | 'audit';
  logLevel?: 'all' | 'allow' | 'deny';
  timeoutMs?: number;
}

export interface AttackResult extends GuardResult {
  /** The script's last stdout line parsed as JSON (null when there is none or it is not JSON). */
  out: unknown;
  /** Question names the DNS server received during the run, in order (`name` lower-cased). */
  queries: string[];
  /** The same questions with their exact label bytes. */
  questions: ServerEvent[];
}

export interface ResolverWorld {
  ns: Netns;
  dns: NetnsServer;
  policy(name: string, yaml: string): string;
  attack(a: Attack): Promise<AttackResult>;
  destroy(): void;
}

let markers = 0;

export async function createResolverWorld(o: ResolverWorldOptions): Promise<ResolverWorld> {
  const ns = Netns.create({
    prefix: o.prefix,
    addresses: [`${DNS_IP}/32`, `${SERVICE_IP}/32`, `${ATTACKER_IP}/32`],
    hosts: o.hosts ?? {},
    resolvConf: `nameserver ${DNS_IP}\noptions timeout:1 attempts:1\n${o.resolvConf ?? ''}`,
  });
  // Policies are compiled into the test's scratch directory: the unprivileged attacker must be able to read them.
  const dir = join(scratchDir(), `resolver-${ns.name}`);
  mkdirSync(dir, { recursive: true });
  chmodSync(scratchDir(), 0o755);
  chmodSync(dir, 0o755);
  try {
    const dns = await ns.startServer({
      dns: [{ host: DNS_IP, port: 53, records: o.records ?? {}, ptr: o.ptr ?? {} }],
      http: [SERVICE_IP, ATTACKER_IP].map((host) => ({ host, port: 8080 })),
      echo: [
        { host: SERVICE_IP, port: 443 },
        { host: SERVICE_IP, port: 8443 },
        { host: ATTACKER_IP, port: 443 },
      ],
      udp: [{ host: ATTACKER_IP, port: 111 }], // a portmapper's port: the Sun RPC client's first datagram
    });
    return {
      ns,
      dns,
      policy(name, yaml) {
        const file = join(dir, `${name}.yaml`);
        writeFileSync(file, yaml, { mode: 0o644 });
        return file;
      },
      async attack(a) {
        const before = dns.events.length;
        const [interp, flag] = a.lang === 'python' ? [a.python ?? PYTHON, '-c'] : [process.execPath, '-e'];
        const asRoot = a.user === 'root';
        const r = await runGuarded({
          cmd: asRoot ? interp : 'setpriv',
          args: asRoot ? [flag, a.code] : [...NOBODY, interp, flag, a.code],
          policy: a.policy,
          mode: a.mode ?? 'enforce',
          ns,
          env: a.env,
          log: 'stderr',
          logLevel: a.logLevel,
          timeoutMs: a.timeoutMs,
          cwd: '/tmp',
        });
        // Queries the script sent may still be in the server's socket or pipe: ask for a marker name afterwards
        // (unguarded, from the same namespace); once the server has recorded it, it has recorded everything before it.
        const marker = `end-${++markers}.marker.test`;
        await ns.run('getent', ['hosts', `${marker}.`], { timeoutMs: 20_000 }); // absolute: no search list
        const seen = await dns.waitFor((evs) => evs.some((e) => e.kind === 'dns' && e.name === marker), 20_000);
        if (!seen) throw new Error(`the DNS server did not record the marker query ${marker}`);
        const questions = dns.events.slice(before).filter((e) => e.kind === 'dns' && !e.name?.endsWith('.marker.test'));
        const last = r.stdout.trim().split('\n').pop() ?? '';
        let out: unknown = null;
        try {
          out = JSON.parse(last);
        } catch {
          out = null;
        }
        return { ...r, out, questions, queries: questions.map((q) => q.name ?? '') };
      },
      destroy() {
        ns.destroy();
      },
    };
  } catch (e) {
    ns.destroy();
    throw e;
  }
}

/** Guard lines of one event whose fields match. */
export function guardLines(logs: GuardLog[], fields: Partial<GuardLog>): GuardLog[] {
  return logs.filter((l) => Object.entries(fields).every(([k, v]) => l[k] === v));
}

/** A short account of a run for assertion messages. */
export function explainRun(r: AttackResult): string {
  const q = r.queries.length > 40 ? [...r.queries.slice(0, 40), `… ${r.queries.length - 40} more`] : r.queries;
  const cut = (s: string) => (s.length > 4000 ? `…${s.slice(-4000)}` : s); // the end: where a traceback is
  return `status ${r.status}\nstdout: ${cut(r.stdout)}\nstderr: ${cut(r.stderr)}\nqueries: ${JSON.stringify(q)}`;
}
