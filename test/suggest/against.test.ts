/**
 * `suggest --against policy.yaml`: each kind of gap and its smallest fix, unused rules, destinations the policy now
 * allows, budgets, exit codes and the JSON form. The policy is compiled and queried with the real compiler/matcher.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgainstReport } from '../../policy/suggest/index.js';
import { connect, invokeLine, netLine, suggest } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'suggest-against-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function policy(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const REQ = 'a1b2c3d4-0000-4000-8000-000000000001';
const LOGS = [
  connect('api.example.com', '192.0.2.10', 443, { requestId: REQ }), // allowed
  connect('img.cdn.example.com', '192.0.2.11', 443, { requestId: REQ, decision: 'deny' }), // wildcard rule, wrong port
  connect('queue.example.com', '192.0.2.12', 443, { requestId: REQ }), // rule is udp-only
  connect('evil.example.net', '192.0.2.13', 443, { requestId: REQ }), // explicit deny
  connect('new.example.org', '192.0.2.14', 8443, { requestId: REQ, decision: 'deny', blocked: true }), // no rule
  netLine({ event: 'dns', host: 'lookup-only.example.org', requestId: REQ, decision: 'deny' }), // no rule, no port
  connect(undefined, '10.1.2.3', 6379, { requestId: REQ }), // cidr rule, wrong port
  connect(undefined, '2001:db8::5', 443, { requestId: REQ }), // no rule
  netLine({ event: 'sendto', ip: '169.254.79.129', port: 2000, proto: 'udp', rule: 'builtin:xray', requestId: REQ }),
  invokeLine('orders', REQ, 3 * 1024 * 1024, 1000),
].join('\n');

const POLICY = `version: 1
mode: enforce
allow:
  - host: api.example.com
    ports: [443]
  - host: "*.cdn.example.com"
    ports: [80]
  - host: queue.example.com
    proto: udp
  - cidr: 10.0.0.0/8
    ports: [5432]
  - host: never.example.com
deny:
  - host: "*.example.net"
  - cidr: 198.18.0.0/15
budgets:
  perInvoke:
    rxBytes: 1MiB
`;

describe('--against', () => {
  it('reports each denial with the smallest fix, unused rules and budgets (JSON)', async () => {
    const f = policy('p.yaml', POLICY);
    const r = await suggest(['--against', f, '--json'], { stdin: LOGS });
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as AgainstReport;
    const by = new Map(rep.denied.map((d) => [d.target, d]));
    expect([...by.keys()]).toEqual([
      'img.cdn.example.com',
      'queue.example.com',
      'evil.example.net',
      'lookup-only.example.org',
      'new.example.org',
      '10.1.2.3',
      '2001:db8::5',
    ]);
    expect(by.get('img.cdn.example.com')!.fix).toMatchObject({ kind: 'extend', addPorts: [443], dropProto: false });
    expect(by.get('img.cdn.example.com')!.fix.rule).toMatchObject({ name: 'allow[1]', line: 6 });
    expect(by.get('queue.example.com')!.fix).toMatchObject({ kind: 'extend', addPorts: [], dropProto: true });
    expect(by.get('evil.example.net')!.fix).toMatchObject({ kind: 'remove-deny', rule: { name: 'deny[0]', line: 14 } });
    expect(by.get('new.example.org')!.fix).toEqual({
      kind: 'add',
      yaml: '  - host: new.example.org\n    ports: [8443]\n    proto: tcp',
    });
    expect(by.get('lookup-only.example.org')!.fix).toEqual({ kind: 'add', yaml: '  - host: lookup-only.example.org' });
    expect(by.get('10.1.2.3')!.fix).toMatchObject({ kind: 'extend', addPorts: [6379], rule: { name: 'allow[3]' } });
    expect(by.get('2001:db8::5')!.fix.yaml).toBe('  - ip: "2001:db8::5"\n    ports: [443]\n    proto: tcp');
    expect(rep.unusedAllow.map((u) => u.name)).toEqual(['allow[1]', 'allow[2]', 'allow[3]', 'allow[4]']);
    expect(rep.unusedDeny.map((u) => u.name)).toEqual(['deny[1]']);
    const rx = rep.budgets.find((b) => b.key === 'rxBytes')!;
    expect(rx).toMatchObject({ budget: 1024 * 1024, max: 3 * 1024 * 1024, maxFn: 'orders' });
  });

  it('the text report names the fix and the rule location', async () => {
    const f = policy('p2.yaml', POLICY);
    const r = await suggest(['--against', 'p2.yaml'], { stdin: LOGS, cwd: dir });
    expect(r.code).toBe(1);
    expect(f).toContain('p2.yaml');
    expect(r.stdout).toContain('fix: change allow[1] (p2.yaml:6, host: "*.cdn.example.com"): add port 443');
    expect(r.stdout).toContain(
      'fix: change allow[2] (p2.yaml:8, host: queue.example.com): remove its proto restriction',
    );
    expect(r.stdout).toContain('fix: remove or narrow deny[0] (p2.yaml:14, host: "*.example.net")');
    expect(r.stdout).toContain('[2001:db8::5]:443 tcp');
    expect(r.stdout).toContain('rxBytes: budget 1 MiB: EXCEEDED');
  });

  it('exit 0 when the policy allows everything observed; logged denials now allowed are listed', async () => {
    const f = policy(
      'ok.yaml',
      'version: 1\nallow:\n  - host: "*.example.com"\n  - host: "*.example.org"\n  - host: evil.example.net\n  - cidr: 10.0.0.0/8\n  - ip: "2001:db8::5"\n',
    );
    const r = await suggest(['--against', f], { stdin: LOGS });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Denied: none');
    expect(r.stdout).toMatch(/Logged as denied but allowed by this policy \(3\):/);
    expect(r.stdout).toContain('new.example.org: seen once by orders (1); now allowed by allow[1]');
  });

  it('loopback traffic is checked against loopback: deny', async () => {
    const f = policy('noloop.yaml', 'version: 1\nloopback: deny\nallow:\n  - host: api.example.com\n');
    const r = await suggest(['--against', f], {
      stdin: connect(undefined, '127.0.0.1', 6379, { rule: 'builtin:loopback' }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('127.0.0.1:6379 tcp');
  });

  it('a name is checked at every sampled address: a deny CIDR catching one of them is reported', async () => {
    const f = policy('cidr.yaml', 'version: 1\nallow:\n  - host: cdn.example.com\ndeny:\n  - cidr: 198.18.0.0/15\n');
    const lines = ['192.0.2.1', '198.18.0.7', '192.0.2.2'].map((ip) => connect('cdn.example.com', ip, 443)).join('\n');
    const r = await suggest(['--against', f, '--json'], { stdin: lines });
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as AgainstReport;
    expect(rep.denied.map((d) => [d.target, d.fix.kind, d.fix.rule?.name])).toEqual([
      ['cdn.example.com', 'remove-deny', 'deny[0]'],
    ]);
  });

  it('a policy that does not compile: exit 2, E_SUGGEST_POLICY with the compiler diagnostics', async () => {
    const f = policy('bad.yaml', 'version: 1\nallow:\n  - host: "a.*.example.com"\n');
    const r = await suggest(['--against', f], { stdin: LOGS });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('E_SUGGEST_POLICY');
    expect(r.stderr).toMatch(/bad\.yaml:3:\d+/);
  });
});
