/**
 * Every documented semantic rule (docs/POLICY.md), each with allow and deny cases. Every expectation is checked
 * against both the reference matcher over the compiled bytes and the independent AST-level reference.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileAndLoad, tempDir } from './helpers.js';
import { Reference } from './reference-semantics.js';

type Q =
  | [kind: 'name', name: string, port: number | undefined, proto: 'tcp' | 'udp' | undefined, want: string]
  | [kind: 'addr', ip: string, port: number, proto: 'tcp' | 'udp', want: string, bound?: string];

/** `want` is "allow:<rule>" or "deny:<rule>". */
async function check(policy: string, queries: Q[], cwd?: string) {
  const { policy: compiled, ast } = await compileAndLoad(policy, cwd);
  const ref = new Reference(ast);
  for (const q of queries) {
    const [got, exp] =
      q[0] === 'name'
        ? [compiled.decideName(q[1], q[2], q[3]), ref.decideName(q[1], q[2], q[3])]
        : [compiled.decideAddr(q[1], q[2], q[3], q[5]), ref.decideAddr(q[1], q[2], q[3], q[5])];
    expect(`${got.decision}:${got.rule}`, JSON.stringify(q)).toBe(q[4]);
    expect(exp, `reference: ${JSON.stringify(q)}`).toEqual(got);
  }
}

const T = 'tcp' as const;
const U = 'udp' as const;

describe('names', () => {
  it('exact names match only themselves, case-insensitively, with or without a trailing dot', () =>
    check('version: 1\nallow:\n  - host: Api.Example.COM.\n', [
      ['name', 'api.example.com', undefined, undefined, 'allow:allow[0]'],
      ['name', 'API.EXAMPLE.COM', 443, T, 'allow:allow[0]'],
      ['name', 'api.example.com.', 443, T, 'allow:allow[0]'],
      ['name', 'www.api.example.com', 443, T, 'deny:default'],
      ['name', 'example.com', 443, T, 'deny:default'],
      ['name', 'api.example.co', 443, T, 'deny:default'],
      ['name', 'api.example.com..', 443, T, 'deny:default'],
    ]));

  it('*.x matches every name strictly below x at any depth, never x itself', () =>
    check('version: 1\nallow:\n  - host: "*.example.com"\n', [
      ['name', 'a.example.com', 443, T, 'allow:allow[0]'],
      ['name', 'a.b.c.example.com', 443, T, 'allow:allow[0]'],
      ['name', 'A.EXAMPLE.COM.', 443, T, 'allow:allow[0]'],
      ['name', 'example.com', 443, T, 'deny:default'],
      ['name', 'badexample.com', 443, T, 'deny:default'],
      ['name', 'example.com.evil.test', 443, T, 'deny:default'],
    ]));

  it('internationalised names are compared in punycode, whichever form either side uses', () =>
    check('version: 1\nallow:\n  - host: Bücher.example\n  - host: "*.xn--mnchen-3ya.example"\n', [
      ['name', 'bücher.example', 443, T, 'allow:allow[0]'],
      ['name', 'BÜCHER.EXAMPLE.', 443, T, 'allow:allow[0]'],
      ['name', 'xn--bcher-kva.example', 443, T, 'allow:allow[0]'],
      ['name', 'bucher.example', 443, T, 'deny:default'],
      ['name', 'www.münchen.example', 443, T, 'allow:allow[1]'],
      ['name', 'münchen.example', 443, T, 'deny:default'],
    ]));

  it('a name rule never matches an address and an address rule never matches a name', () =>
    check('version: 1\nallow:\n  - host: a.test\n  - cidr: 10.0.0.0/8\n', [
      ['addr', '10.1.2.3', 443, T, 'allow:allow[1]'],
      ['addr', '192.0.2.1', 443, T, 'deny:default'],
      ['name', '10.1.2.3', 443, T, 'deny:default'],
    ]));
});

describe('addresses', () => {
  it('IPv4 CIDR bounds are inclusive; a single ip is /32', () =>
    check('version: 1\nallow:\n  - cidr: 10.1.0.0/16\n  - ip: 192.0.2.7\n', [
      ['addr', '10.1.0.0', 1, T, 'allow:allow[0]'],
      ['addr', '10.1.255.255', 1, T, 'allow:allow[0]'],
      ['addr', '10.0.255.255', 1, T, 'deny:default'],
      ['addr', '10.2.0.0', 1, T, 'deny:default'],
      ['addr', '192.0.2.7', 1, U, 'allow:allow[1]'],
      ['addr', '192.0.2.8', 1, U, 'deny:default'],
    ]));

  it('IPv6 CIDRs and addresses in any spelling', () =>
    check('version: 1\nallow:\n  - cidr: "2001:db8:a::/48"\n  - ip: "2001:DB8::0:1"\n', [
      ['addr', '2001:db8:a::', 1, T, 'allow:allow[0]'],
      ['addr', '2001:db8:a:ffff:ffff:ffff:ffff:ffff', 1, T, 'allow:allow[0]'],
      ['addr', '2001:0db8:000a:0000:0000:0000:0000:0001', 1, T, 'allow:allow[0]'],
      ['addr', '2001:db8:b::', 1, T, 'deny:default'],
      ['addr', '2001:db8::1', 1, T, 'allow:allow[1]'],
      ['addr', '2001:db8::2', 1, T, 'deny:default'],
    ]));

  it('IPv4-mapped IPv6 is the IPv4 address, for queries and for rules', () =>
    check(
      'version: 1\nallow:\n  - cidr: 10.0.0.0/8\n  - cidr: "::ffff:192.0.2.0/120"\ndeny:\n  - ip: "::ffff:10.9.9.9"\n',
      [
        ['addr', '::ffff:10.1.2.3', 1, T, 'allow:allow[0]'],
        ['addr', '::ffff:a01:203', 1, T, 'allow:allow[0]'],
        ['addr', '192.0.2.200', 1, T, 'allow:allow[1]'],
        ['addr', '::ffff:192.0.2.200', 1, T, 'allow:allow[1]'],
        ['addr', '192.0.3.1', 1, T, 'deny:default'],
        ['addr', '10.9.9.9', 1, T, 'deny:deny[0]'],
        ['addr', '::ffff:10.9.9.9', 1, T, 'deny:deny[0]'],
      ],
    ));

  it('an IPv6 network containing ::ffff:0:0/96 also covers IPv4 (with a warning)', async () => {
    const { warnings } = await compileAndLoad('version: 1\nallow:\n  - cidr: "::/0"\n');
    expect(warnings.map((w) => w.code)).toEqual(['ALLOW_ALL_ADDRESSES', 'CIDR_INCLUDES_IPV4']);
    await check('version: 1\nallow:\n  - cidr: "::/0"\n', [
      ['addr', '203.0.113.1', 1, T, 'allow:allow[0]'],
      ['addr', '2001:db8::1', 1, T, 'allow:allow[0]'],
    ]);
  });
});

describe('ports and protocols', () => {
  it('ports and ranges are inclusive; absent ports = every port', () =>
    check('version: 1\nallow:\n  - host: a.test\n    ports: [443, "8000-8100"]\n  - host: b.test\n', [
      ['name', 'a.test', 443, T, 'allow:allow[0]'],
      ['name', 'a.test', 8000, T, 'allow:allow[0]'],
      ['name', 'a.test', 8100, U, 'allow:allow[0]'],
      ['name', 'a.test', 444, T, 'deny:default'],
      ['name', 'a.test', 7999, T, 'deny:default'],
      ['name', 'a.test', 8101, T, 'deny:default'],
      ['name', 'b.test', 1, T, 'allow:allow[1]'],
      ['name', 'b.test', 65535, U, 'allow:allow[1]'],
    ]));

  it('proto limits a rule to one protocol; absent = both', () =>
    check('version: 1\nallow:\n  - host: dns.test\n    proto: udp\n  - host: web.test\n', [
      ['name', 'dns.test', 53, U, 'allow:allow[0]'],
      ['name', 'dns.test', 53, T, 'deny:default'],
      ['name', 'web.test', 53, U, 'allow:allow[1]'],
      ['name', 'web.test', 53, T, 'allow:allow[1]'],
    ]));

  it('a lookup (port unknown) is allowed when some use could be allowed', () =>
    check('version: 1\nallow:\n  - host: a.test\n    ports: [443]\n    proto: tcp\n', [
      ['name', 'a.test', undefined, undefined, 'allow:allow[0]'],
      ['name', 'a.test', undefined, T, 'allow:allow[0]'],
      ['name', 'a.test', undefined, U, 'deny:default'],
      ['name', 'a.test', 80, T, 'deny:default'],
    ]));

  it('a lookup is denied only when every use would be denied', () =>
    check(
      'version: 1\nallow:\n  - "*.test"\ndeny:\n  - host: a.test\n    ports: [25]\n  - host: b.test\n    proto: udp\n  - host: c.test\n',
      [
        ['name', 'a.test', undefined, undefined, 'allow:allow[0]'],
        ['name', 'a.test', 25, T, 'deny:deny[0]'],
        ['name', 'a.test', 443, T, 'allow:allow[0]'],
        ['name', 'b.test', undefined, undefined, 'allow:allow[0]'],
        ['name', 'b.test', undefined, U, 'deny:deny[1]'],
        ['name', 'b.test', 53, U, 'deny:deny[1]'],
        ['name', 'b.test', 53, T, 'allow:allow[0]'],
        ['name', 'c.test', undefined, undefined, 'deny:deny[2]'],
      ],
    ));

  it('shorthand strings carry a port; IPv6 with a port in brackets', () =>
    check(
      'version: 1\nallow:\n  - "a.test:443"\n  - "10.0.0.0/8:5432"\n  - "[2001:db8::/32]:53"\n  - "2001:db9::1"\n',
      [
        ['name', 'a.test', 443, T, 'allow:allow[0]'],
        ['name', 'a.test', 80, T, 'deny:default'],
        ['addr', '10.2.3.4', 5432, T, 'allow:allow[1]'],
        ['addr', '10.2.3.4', 5433, T, 'deny:default'],
        ['addr', '2001:db8::99', 53, U, 'allow:allow[2]'],
        ['addr', '2001:db8::99', 54, U, 'deny:default'],
        ['addr', '2001:db9::1', 9, T, 'allow:allow[3]'],
      ],
    ));
});

describe('deny precedence and attribution', () => {
  it('deny wins over allow for names, whatever the order or breadth', () =>
    check('version: 1\nallow:\n  - host: x.bad.test\n  - "*.test"\ndeny:\n  - host: "*.bad.test"\n', [
      ['name', 'x.bad.test', 443, T, 'deny:deny[0]'],
      ['name', 'y.bad.test', 443, T, 'deny:deny[0]'],
      ['name', 'bad.test', 443, T, 'allow:allow[1]'],
      ['name', 'good.test', 443, T, 'allow:allow[1]'],
    ]));

  it('deny applies to addresses, including addresses an allowed name resolved to', () =>
    check(
      'version: 1\nallow:\n  - host: api.test\n  - cidr: 10.0.0.0/8\ndeny:\n  - cidr: 10.66.0.0/16\n  - host: "*.evil.test"\n',
      [
        ['addr', '10.66.1.1', 443, T, 'deny:deny[0]', 'api.test'],
        ['addr', '203.0.113.5', 443, T, 'allow:allow[0]', 'api.test'],
        ['addr', '203.0.113.5', 443, T, 'deny:default'],
        ['addr', '10.1.1.1', 443, T, 'deny:deny[1]', 'x.evil.test'],
        ['addr', '10.1.1.1', 443, T, 'allow:allow[1]', 'unrelated.test'],
      ],
    ));

  it('the address rule decides before the bound name, the lowest index within each step', () =>
    check(
      'version: 1\nallow:\n  - name: by-name\n    host: api.test\n  - name: by-net\n    cidr: 10.0.0.0/8\n  - name: by-net-too\n    cidr: 10.1.0.0/16\n',
      [
        ['addr', '10.1.2.3', 443, T, 'allow:by-net', 'api.test'],
        ['addr', '192.0.2.1', 443, T, 'allow:by-name', 'api.test'],
      ],
    ));

  it('among matching rules of a kind the lowest index (earliest in the file) is reported', () =>
    check(
      'version: 1\nallow:\n  - name: narrow\n    host: s3.amazonaws.com\n  - name: broad\n    host: "*.amazonaws.com"\n',
      [
        ['name', 's3.amazonaws.com', 443, T, 'allow:narrow'],
        ['name', 'sqs.amazonaws.com', 443, T, 'allow:broad'],
      ],
    ));
});

describe('loopback and defaults', () => {
  it('loopback is allowed by default (127.0.0.0/8, ::1, localhost — not names below it) and can be denied', async () => {
    await check('version: 1\nallow:\n  - a.test\n', [
      ['addr', '127.0.0.1', 9001, T, 'allow:builtin:loopback'],
      ['addr', '127.200.1.1', 1, U, 'allow:builtin:loopback'],
      ['addr', '::1', 1, T, 'allow:builtin:loopback'],
      ['addr', '::ffff:127.0.0.1', 1, T, 'allow:builtin:loopback'],
      ['addr', '::2', 1, T, 'deny:default'],
      ['name', 'localhost', 1, T, 'allow:builtin:loopback'],
      ['name', 'LOCALHOST.', undefined, undefined, 'allow:builtin:loopback'],
      ['name', 'db.localhost', 1, T, 'deny:default'], // glibc sends it to DNS: decided like any name
      ['name', 'db.localhost', undefined, undefined, 'deny:default'],
      ['name', 'localhost.test', 1, T, 'deny:default'],
    ]);
    await check('version: 1\nloopback: deny\nallow:\n  - a.test\n', [
      ['addr', '127.0.0.1', 9001, T, 'deny:default'],
      ['name', 'localhost', 1, T, 'deny:default'],
    ]);
  });

  it('deny rules apply to loopback too', () =>
    check('version: 1\nallow:\n  - a.test\ndeny:\n  - cidr: 127.0.0.0/8\n    ports: [6379]\n', [
      ['addr', '127.0.0.1', 6379, T, 'deny:deny[0]'],
      ['addr', '127.0.0.1', 6380, T, 'allow:builtin:loopback'],
    ]));

  it('anything not allowed is denied', () =>
    check('version: 1\nallow: []\n', [
      ['name', 'a.test', 443, T, 'deny:default'],
      ['addr', '203.0.113.1', 443, T, 'deny:default'],
    ]));
});

describe('names files', () => {
  const dir = tempDir('egp-sem-');
  writeFileSync(join(dir, 'feed.txt'), '\uFEFF# feed\r\nMal.Test.\r\n*.c2.test  # all of it\r\n\r\nbücher.test\n');

  it('each line is an exact name or *.suffix, normalised like host:', () =>
    check(
      'version: 1\nallow:\n  - "*.test"\ndeny:\n  - name: feed\n    hosts_file: feed.txt\n',
      [
        ['name', 'mal.test', 443, T, 'deny:feed'],
        ['name', 'MAL.TEST.', undefined, undefined, 'deny:feed'],
        ['name', 'x.c2.test', 443, T, 'deny:feed'],
        ['name', 'c2.test', 443, T, 'allow:allow[0]'],
        ['name', 'xn--bcher-kva.test', 443, T, 'deny:feed'],
        ['name', 'ok.test', 443, T, 'allow:allow[0]'],
        ['addr', '192.0.2.1', 443, T, 'deny:feed', 'a.c2.test'],
      ],
      dir,
    ));

  it('an allow rule entirely denied by a names file gets a warning', async () => {
    const { warnings } = await compileAndLoad(
      'version: 1\nallow:\n  - host: mal.test\n    ports: [443]\n  - "*.x.c2.test"\n  - host: fine.test\ndeny:\n  - hosts_file: feed.txt\n',
      dir,
    );
    expect(warnings.map((w) => [w.code, w.line])).toEqual([
      ['ALLOW_CANCELLED_BY_DENY', 3],
      ['ALLOW_CANCELLED_BY_DENY', 5],
    ]);
  });

  it('a names file in an allow rule honours the rule ports', () =>
    check(
      'version: 1\nallow:\n  - hosts_file: feed.txt\n    ports: [443]\n',
      [
        ['name', 'mal.test', 443, T, 'allow:allow[0]'],
        ['name', 'mal.test', 80, T, 'deny:default'],
      ],
      dir,
    ));
});

describe('modes and budgets reach the file', () => {
  it('mode, loopback flag and budgets', async () => {
    const a = await compileAndLoad('version: 1\nallow: [a.test]\n');
    expect(a.policy.mode).toBe('audit');
    expect(a.policy.allowLoopback).toBe(true);
    expect(a.policy.budgets).toEqual({ rxBytes: null, txBytes: null, totalBytes: null });
    const b = await compileAndLoad(
      'version: 1\nmode: enforce\nloopback: deny\nallow: [a.test]\nbudgets:\n  perInvoke:\n    rxBytes: 1.5KiB\n    txBytes: 2 MB\n    totalBytes: 1000\n',
    );
    expect(b.policy.mode).toBe('enforce');
    expect(b.policy.allowLoopback).toBe(false);
    expect(b.policy.budgets).toEqual({ rxBytes: 1536, txBytes: 2_000_000, totalBytes: 1000 });
  });

  it.each([
    ['0', 0],
    ['10B', 10],
    ['1kB', 1000],
    ['1KB', 1000],
    ['1KiB', 1024],
    ['3MB', 3e6],
    ['3MiB', 3 * 1024 ** 2],
    ['2GB', 2e9],
    ['2GiB', 2 * 1024 ** 3],
    ['1TiB', 1024 ** 4],
    ['0.5 GiB', 512 * 1024 ** 2],
  ])('size %s = %i bytes', async (text, bytes) => {
    const r = await compileAndLoad(`version: 1\nallow: [a.test]\nbudgets:\n  perInvoke:\n    rxBytes: "${text}"\n`);
    expect(r.policy.budgets.rxBytes).toBe(bytes);
  });
});

describe('warnings', () => {
  it.each([
    [
      'shadowed exact by an earlier wildcard',
      'allow:\n  - "*.a.test"\n  - host: x.a.test\n    ports: [443]\n',
      ['RULE_SHADOWED'],
    ],
    ['duplicate rule', 'allow:\n  - a.test:443\n  - a.test:443\n', ['RULE_SHADOWED']],
    ['narrow before broad is fine', 'allow:\n  - host: x.a.test\n  - "*.a.test"\n', []],
    ['ports not covered is fine', 'allow:\n  - "*.a.test:443"\n  - x.a.test\n', []],
    ['cidr inside an earlier cidr', 'allow:\n  - cidr: 10.0.0.0/8\n  - cidr: 10.1.0.0/16\n', ['RULE_SHADOWED']],
    [
      'allow cancelled by deny',
      'allow:\n  - host: x.a.test\n    ports: [443]\ndeny:\n  - "*.a.test"\n',
      ['ALLOW_CANCELLED_BY_DENY'],
    ],
    ['deny on some ports only does not cancel', 'allow:\n  - x.a.test\ndeny:\n  - "*.a.test:25"\n', []],
    ['wildcard over a public suffix', 'allow:\n  - "*.co.uk"\n', ['WILDCARD_PUBLIC_SUFFIX']],
    ['allow every IPv4 address', 'allow:\n  - cidr: 0.0.0.0/0\n', ['ALLOW_ALL_ADDRESSES']],
  ])('%s', async (_t, body, codes) => {
    const r = await compileAndLoad(`version: 1\n${body}`);
    expect(r.warnings.map((w) => w.code)).toEqual(codes);
    for (const w of r.warnings) expect(w.severity).toBe('warning');
  });
});
