/**
 * Queries of the golden fixtures (test/fixtures/golden/<name>.queries.jsonl). The expected decisions in the .jsonl
 * files are checked three ways: by the reference matcher over the golden bytes, by the independent AST-level
 * implementation (reference-semantics.ts), and by the C reader's tests. Format: test/fixtures/golden/README.md.
 */
export type GoldenQuery =
  | { q: 'name'; name: string; port?: number; proto?: 'tcp' | 'udp' }
  | { q: 'addr'; ip: string; port: number; proto: 'tcp' | 'udp'; boundName?: string };

const names = (list: string[], port?: number, proto?: 'tcp' | 'udp'): GoldenQuery[] =>
  list.map((name) => ({ q: 'name', name, ...(port === undefined ? {} : { port }), ...(proto ? { proto } : {}) }));

/** cidrs: every network's first and last address and the addresses just outside, on ports 443 and 22. */
function cidrsQueries(): GoldenQuery[] {
  const out: GoldenQuery[] = [];
  const at = (ip: string, port = 443): void => {
    out.push({ q: 'addr', ip, port, proto: 'tcp' });
  };
  for (let i = 0; i < 44; i += 3) {
    const a = 11 + i * 5;
    const c = (i * 37) % 256;
    at(`${a}.${i}.${c}.0`);
    at(`${a}.${i}.${c}.255`);
    at(`${a}.${i}.${(c + 255) % 256}.255`);
    at(`${a}.${i}.${(c + 1) % 256}.0`);
  }
  for (const ip of ['16.1.37.127', '16.1.37.128', '16.1.37.255', '0.0.0.0', '255.255.255.255']) at(ip);
  for (let i = 0; i < 36; i += 4) {
    at(`2001:db8:${i.toString(16)}::`);
    at(`2001:db8:${i.toString(16)}:ffff:ffff:ffff:ffff:ffff`);
    at(`2001:db8:${(i + 36).toString(16)}::1`);
  }
  at('2001:db8:5:7::1');
  at('2001:db8:5:6:ffff:ffff:ffff:ffff');
  for (let i = 0; i < 13; i++) {
    at(`2001:db8:ff:1:${i.toString(16)}::`);
    at(`2001:db8:ff:1:${i.toString(16)}:${i.toString(16)}::1`);
    at(`2001:db8:ff:1:${i.toString(16)}:ffff:ffff:ffff`);
  }
  at('2001:db8:ff:1:3:0:0:1', 22);
  at('2001:db8:ff:1:3:1::', 22);
  at('2001:db8:ff:0:ffff:ffff:ffff:ffff');
  at('2001:db8:ff:2::');
  at('::');
  at('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  return out;
}

export const GOLDEN_QUERIES: Record<string, GoldenQuery[]> = {
  cidrs: cidrsQueries(),
  tiny: [
    ...names([
      'api.example.com',
      'API.Example.COM.',
      'www.api.example.com',
      'example.com',
      's3.amazonaws.com',
      'x.y.s3.amazonaws.com',
      'amazonaws.com',
      'evil.s3.amazonaws.com',
      'a.evil.s3.amazonaws.com',
      'x.ngrok.io',
      'ngrok.io',
      'registry.npmjs.org',
      'localhost',
      'db.localhost',
      'unknown.test',
      '',
      '.',
    ]),
    ...names(['api.example.com', 's3.amazonaws.com', 'registry.npmjs.org', 'x.ngrok.io'], 443, 'tcp'),
    ...names(['s3.amazonaws.com', 'registry.npmjs.org'], 80, 'tcp'),
    ...names(['s3.amazonaws.com'], 443, 'udp'),
    ...names(['s3.amazonaws.com'], 443),
    ...names(['s3.amazonaws.com'], undefined, 'udp'),
    { q: 'addr', ip: '10.2.3.4', port: 5432, proto: 'tcp' },
    { q: 'addr', ip: '10.2.3.4', port: 8000, proto: 'udp' },
    { q: 'addr', ip: '10.2.3.4', port: 8100, proto: 'tcp' },
    { q: 'addr', ip: '10.2.3.4', port: 8101, proto: 'tcp' },
    { q: 'addr', ip: '10.2.3.4', port: 22, proto: 'tcp' },
    { q: 'addr', ip: '10.1.3.4', port: 5432, proto: 'tcp' },
    { q: 'addr', ip: '10.1.3.4', port: 5432, proto: 'udp' },
    { q: 'addr', ip: '10.1.3.4', port: 8050, proto: 'tcp' },
    { q: 'addr', ip: '10.255.255.255', port: 5432, proto: 'tcp' },
    { q: 'addr', ip: '11.0.0.0', port: 5432, proto: 'tcp' },
    { q: 'addr', ip: '9.255.255.255', port: 5432, proto: 'tcp' },
    { q: 'addr', ip: '::ffff:10.0.0.1', port: 8050, proto: 'tcp' },
    { q: 'addr', ip: '::ffff:10.1.0.1', port: 5432, proto: 'tcp' },
    { q: 'addr', ip: '2001:db8::1', port: 1, proto: 'udp' },
    { q: 'addr', ip: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535, proto: 'tcp' },
    { q: 'addr', ip: '2001:db9::', port: 443, proto: 'tcp' },
    { q: 'addr', ip: '2001:db8:ffff::1', port: 53, proto: 'udp' },
    { q: 'addr', ip: '2001:db7:ffff::1', port: 53, proto: 'udp' },
    { q: 'addr', ip: 'fd00::53', port: 53, proto: 'udp' },
    { q: 'addr', ip: 'FD00:0:0:0:0:0:0:53', port: 53, proto: 'tcp' },
    { q: 'addr', ip: 'fd00::53', port: 54, proto: 'udp' },
    { q: 'addr', ip: 'fd00::52', port: 53, proto: 'udp' },
    { q: 'addr', ip: '169.254.169.254', port: 80, proto: 'tcp' },
    { q: 'addr', ip: '169.254.169.254', port: 80, proto: 'tcp', boundName: 'api.example.com' },
    { q: 'addr', ip: '169.254.169.253', port: 80, proto: 'tcp' },
    { q: 'addr', ip: '192.0.2.10', port: 53, proto: 'udp' },
    { q: 'addr', ip: '192.0.2.10', port: 53, proto: 'tcp' },
    { q: 'addr', ip: '198.51.100.7', port: 1, proto: 'tcp' },
    { q: 'addr', ip: '::ffff:198.51.100.7', port: 1, proto: 'tcp' },
    { q: 'addr', ip: '198.51.100.7', port: 1, proto: 'udp' },
    { q: 'addr', ip: '198.51.101.7', port: 1, proto: 'tcp' },
    { q: 'addr', ip: '127.0.0.1', port: 9001, proto: 'tcp' },
    { q: 'addr', ip: '127.255.0.1', port: 1, proto: 'udp' },
    { q: 'addr', ip: '::1', port: 443, proto: 'tcp' },
    { q: 'addr', ip: '::ffff:127.0.0.1', port: 443, proto: 'tcp' },
    { q: 'addr', ip: '0.0.0.0', port: 443, proto: 'tcp' },
    { q: 'addr', ip: '255.255.255.255', port: 443, proto: 'tcp' },
    { q: 'addr', ip: '::', port: 443, proto: 'tcp' },
    { q: 'addr', ip: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 443, proto: 'tcp' },
    { q: 'addr', ip: '203.0.113.9', port: 443, proto: 'tcp' },
    { q: 'addr', ip: '203.0.113.9', port: 443, proto: 'tcp', boundName: 'x.s3.amazonaws.com' },
    { q: 'addr', ip: '203.0.113.9', port: 80, proto: 'tcp', boundName: 'x.s3.amazonaws.com' },
    { q: 'addr', ip: '203.0.113.9', port: 443, proto: 'tcp', boundName: 'evil.s3.amazonaws.com' },
    { q: 'addr', ip: '10.1.2.3', port: 5432, proto: 'tcp', boundName: 'api.example.com' },
    { q: 'addr', ip: '10.2.2.3', port: 5432, proto: 'tcp', boundName: 'x.ngrok.io' },
    { q: 'addr', ip: '203.0.113.9', port: 22, proto: 'tcp', boundName: 'API.EXAMPLE.COM.' },
  ],
  names: [
    ...names([
      'mal.example.com',
      'MAL.example.com.',
      'tracker.example.com',
      'bad.example.com',
      'x.bad.example.com',
      'a.b.bad.example.com',
      'good.example.com',
      'example.com',
      'phish.test',
      'partner-a.test',
      'www.partner-a.test',
      'x.partner-b.test',
      'partner-b.test',
      'bücher.example',
      'BÜCHER.example',
      'xn--bcher-kva.example',
      'bücher-böse.test',
      'xn--bcher-bse-67a3d.test',
      'localhost',
    ]),
    ...names(['partner-a.test', 'x.partner-b.test', 'phish.test'], 443, 'tcp'),
    ...names(['partner-a.test', 'x.partner-b.test'], 8444, 'tcp'),
    ...names(['partner-a.test'], 80, 'tcp'),
    ...names(['phish.test'], 53, 'udp'),
    ...names(['phish.test'], undefined, 'tcp'),
    { q: 'addr', ip: '127.0.0.1', port: 80, proto: 'tcp' },
    { q: 'addr', ip: '::1', port: 80, proto: 'tcp' },
    { q: 'addr', ip: '198.51.100.1', port: 443, proto: 'tcp', boundName: 'partner-a.test' },
    { q: 'addr', ip: '198.51.100.1', port: 22, proto: 'tcp', boundName: 'partner-a.test' },
    { q: 'addr', ip: '198.51.100.1', port: 443, proto: 'tcp', boundName: 'x.bad.example.com' },
    { q: 'addr', ip: '198.51.100.1', port: 443, proto: 'tcp', boundName: 'ok.example.com' },
    { q: 'addr', ip: '198.51.100.1', port: 443, proto: 'tcp' },
  ],
};
