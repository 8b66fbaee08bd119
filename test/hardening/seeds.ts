/**
 * Seed inputs of the libFuzzer harnesses (native/fuzz/): valid compiled policies written by the real compiler (in
 * both format versions), and
 * hostile strings for the log writer. `UPDATE_SEEDS=1 npx vitest run test/hardening/fuzz.test.ts` rewrites
 * native/fuzz/corpus/ from these; the test otherwise checks the committed seeds still match.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePolicyTextSync } from '../../policy/index.js';
import { ROOT } from '../support/guard.js';

const GOLDEN = join(ROOT, 'test/fixtures/golden');

/** Small policies covering every rule kind, both modes, loopback, budgets, IPv6, port lists and empty lists. */
const POLICIES: Record<string, string> = {
  empty: 'version: 1\n',
  'deny-only': 'version: 1\nmode: audit\ndeny:\n  - host: "*.evil.test"\n  - cidr: 0.0.0.0/0\n    proto: udp\n',
  wildcards: `version: 1
loopback: allow
allow:
  - host: "*.a.test"
    ports: [443, "8000-8100"]
  - host: "*.b.a.test"
    proto: udp
  - host: c.test
deny:
  - host: "*.x.a.test"
`,
  ipv6: `version: 1
mode: enforce
allow:
  - cidr: "2001:db8::/32"
    ports: [1, 65535]
  - ip: "::1"
  - cidr: "fe80::/10"
    proto: tcp
  - "[2001:db8::5]:53"
deny:
  - cidr: "2001:db8:1::/48"
  - cidr: "::ffff:10.0.0.0/104"
`,
  ipv4: `version: 1
mode: enforce
loopback: deny
allow:
  - cidr: 10.0.0.0/8
  - cidr: 10.1.0.0/16
    ports: ["1-1023"]
  - ip: 192.0.2.1
  - "198.51.100.0/24:443"
deny:
  - cidr: 10.1.2.0/24
  - ip: 169.254.169.254
budgets:
  perInvoke:
    rxBytes: 1KiB
    txBytes: 2
    totalBytes: 5GB
`,
};

function hostile(sizeByte: number, s: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([sizeByte]), Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8')]);
}

/** name → bytes of every egp seed. */
export function egpSeeds(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of ['tiny', 'names', 'cidrs', 'tiny.v2', 'names.v2', 'cidrs.v2', 'tiny.v3', 'names.v3', 'cidrs.v3'])
    out.set(`golden-${name}.egp`, readFileSync(join(GOLDEN, `${name}.egp`)));
  for (const [name, text] of Object.entries(POLICIES)) {
    out.set(`${name}.egp`, compilePolicyTextSync(text, `${name}.yaml`, { formatVersion: 1 }).bytes);
    out.set(`${name}.v2.egp`, compilePolicyTextSync(text, `${name}.yaml`, { formatVersion: 2 }).bytes);
    out.set(`${name}.v3.egp`, compilePolicyTextSync(text, `${name}.yaml`, { formatVersion: 3 }).bytes);
  }
  return out;
}

/** name → bytes of every json seed (byte 0 = buffer size selector, see fuzz_json.c). */
export function jsonSeeds(): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    ['plain', hostile(255, 'api.example.com')],
    ['quotes', hostile(255, 'a"b\\c","level":10,"x":"')],
    ['newline', hostile(255, 'evil.test\n{"name":"egress-guard","decision":"allow"}\r\n')],
    ['controls', hostile(100, Buffer.from([0x00, 0x01, 0x1f, 0x7f, 0x08, 0x0c, 0x41]))],
    ['invalid-utf8', hostile(255, Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0xff, 0x80]))],
    ['valid-utf8', hostile(255, 'bücher.例え.test\u2028\u2029😀')],
    ['truncate', hostile(3, `${'é'.repeat(40)}"\\"`)],
    ['tiny-buffer', hostile(0, '"""')],
  ]);
}

/** One DNS question message (RFC 1035 4.1): header with QDCOUNT `qd`, the name, QTYPE, QCLASS IN. */
function dnsQuery(name: string, qd = 1, qtype = 1): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(qd, 4);
  const labels = name
    .split('.')
    .filter((l) => l !== '')
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([h, ...labels, Buffer.from([0]), tail]);
}

/** name → bytes of every dnsq seed (outgoing DNS messages for fuzz_dnsq.c). */
export function dnsqSeeds(): Map<string, Uint8Array> {
  const pointer = Buffer.concat([dnsQuery('', 1).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  return new Map<string, Uint8Array>([
    ['a-record', dnsQuery('www.Example.COM')],
    ['aaaa-long', dnsQuery(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.test`, 1, 28)],
    ['root', dnsQuery('')],
    ['no-question', dnsQuery('x.test', 0)],
    ['two-questions', dnsQuery('x.test', 2)],
    ['pointer', pointer],
    ['edns', Buffer.concat([dnsQuery('evil.test'), Buffer.from([0, 0, 0x29, 0x10, 0, 0, 0, 0, 0, 0, 0])])],
  ]);
}
