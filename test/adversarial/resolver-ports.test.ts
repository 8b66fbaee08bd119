// "Decisions match POLICY.md for allowed names on other ports" (docs/POLICY.md "Decisions"): a lookup is decided for
// the name alone, so a name the policy allows on 443 only RESOLVES for every client — whether or not it passes the
// port to getaddrinfo (Python's clients do, Node does not) — and the connect to another port is refused with EACCES
// and a guard line naming the port and the rule. Tested with the real clients: Python urllib,
// socket.create_connection, redis-py and psycopg (libpq), and Node's net/http. The Python clients are installed in
// root's interpreter by .ci/run (pip), so these run as root; they are client compatibility checks, not attacks.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import { createResolverWorld, explainRun, guardLines, type ResolverWorld, SERVICE_IP } from './resolver-world.js';

/** Root's interpreter (where .ci/run pip-installs redis and psycopg), not a version manager's shim script. */
const ROOT_PYTHON =
  spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim() || 'python3';
const clients = spawnSync(ROOT_PYTHON, ['-c', 'import redis, psycopg'], { encoding: 'utf8' });
const ok =
  needNetns() &&
  needLibrary() &&
  need('redis-py and psycopg', clients.status === 0, `${ROOT_PYTHON} cannot import them: ${clients.stderr.trim()}`);

const POLICY = `version: 1
mode: enforce
allow:
  - name: svc-https
    host: svc.example.com
    ports: [443]
`;

describe.skipIf(!ok)('a name allowed on 443 only: resolves for every client, other ports refused at connect', () => {
  let world: ResolverWorld;
  let policy: string;
  beforeAll(async () => {
    world = await createResolverWorld({ prefix: 'egrp', records: { 'svc.example.com': [SERVICE_IP] } });
    policy = world.policy('ports', POLICY);
  });
  afterAll(() => world?.destroy());

  /** The refusal each client reports for port 8080, then the same client's success on 443 where it speaks TCP. */
  it('Python: urllib, socket.create_connection, redis-py and psycopg all get EACCES on 8080; 443 connects', async () => {
    const r = await world.attack({
      lang: 'python',
      user: 'root',
      python: ROOT_PYTHON,
      policy,
      code: `
import errno, json, socket, urllib.request, redis, psycopg
def attempt(f):
    try:
        f(); return "ok"
    except Exception as e:
        text = str(e)
        return "EACCES" if ("Permission denied" in text or "Errno 13" in text or "Error 13" in text) else text
out = {
  "resolve": socket.getaddrinfo("svc.example.com", 8080, type=socket.SOCK_STREAM)[0][4][0],
  "urllib": attempt(lambda: urllib.request.urlopen("http://svc.example.com:8080/", timeout=5)),
  "socket": attempt(lambda: socket.create_connection(("svc.example.com", 8080), timeout=5)),
  "redis": attempt(lambda: redis.Redis(host="svc.example.com", port=8080, socket_connect_timeout=5).ping()),
  "psycopg": attempt(lambda: psycopg.connect(host="svc.example.com", port=8080, connect_timeout=5)),
  "socket-443": attempt(lambda: socket.create_connection(("svc.example.com", 443), timeout=5).close()),
}
print(json.dumps(out))`,
    });
    expect(r.out, explainRun(r)).toEqual({
      resolve: SERVICE_IP,
      urllib: 'EACCES',
      socket: 'EACCES',
      redis: 'EACCES',
      psycopg: 'EACCES',
      'socket-443': 'ok',
    });
    // the lookups were allowed (their lines keep the port the client asked for, as context) …
    expect(guardLines(r.logs, { event: 'dns', decision: 'deny' }), explainRun(r)).toEqual([]);
    // … and every refusal names the port and the rule
    const refused = guardLines(r.logs, { event: 'connect', host: 'svc.example.com', port: 8080, blocked: true });
    expect(refused.length, explainRun(r)).toBeGreaterThanOrEqual(4);
    for (const l of refused)
      expect(l).toMatchObject({ ip: SERVICE_IP, rule: 'default', proto: 'tcp', errno: 'EACCES' });
  });

  it('Node: net.connect and http.get get EACCES on 8080 (looked up without a port); 443 connects', async () => {
    const r = await world.attack({
      lang: 'node',
      user: 'root',
      policy,
      code: `
const net = require('node:net'), http = require('node:http');
const tcp = (port) => new Promise((res) => {
  const s = net.connect(port, 'svc.example.com', () => { s.destroy(); res('ok'); });
  s.on('error', (e) => res(e.code));
});
const get = () => new Promise((res) => http.get('http://svc.example.com:8080/', () => res('ok')).on('error', (e) => res(e.code)));
Promise.all([tcp(8080), get(), tcp(443)]).then((v) => console.log(JSON.stringify(v)));`,
    });
    expect(r.out, explainRun(r)).toEqual(['EACCES', 'EACCES', 'ok']);
    const refused = guardLines(r.logs, { event: 'connect', host: 'svc.example.com', port: 8080, blocked: true });
    expect(refused.length, explainRun(r)).toBe(2);
    expect(refused[0]).toMatchObject({ rule: 'default', errno: 'EACCES' });
  });

  it('a lookup line keeps the port the client asked for, and is decided for the name alone', async () => {
    const r = await world.attack({
      lang: 'python',
      policy,
      logLevel: 'all',
      code: `
import json, socket
print(json.dumps(socket.getaddrinfo("svc.example.com", 8080, type=socket.SOCK_STREAM)[0][4][0]))`,
    });
    expect(r.out, explainRun(r)).toBe(SERVICE_IP);
    const dns = guardLines(r.logs, { event: 'dns', host: 'svc.example.com' });
    expect(dns).toHaveLength(1);
    expect(dns[0]).toMatchObject({ port: 8080, proto: 'tcp', decision: 'allow', rule: 'svc-https' });
  });
});
