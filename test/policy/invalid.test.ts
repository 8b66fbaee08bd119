/**
 * Invalid policies: each must fail with exactly the listed errors (stable code, line, column), all reported at once.
 * Tests assert codes and positions, never message text (except that a message exists and says how to fix).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicyFile, formatDiagnostic, PolicyError } from '../../policy/index.js';
import { diagnosticsOf } from './helpers.js';

const FIX = join(import.meta.dirname, '../fixtures/policies');
const long = (n: number) => 'a'.repeat(n);

type Expect = Array<[code: string, line: number, col: number]>;

// [title, policy text, expected errors sorted by position]
const CASES: Array<[string, string, Expect]> = [
  ['unclosed flow sequence', 'version: 1\nallow: [a.com\n', [['YAML_SYNTAX', 3, 1]]],
  ['duplicate key', 'version: 1\nmode: audit\nmode: enforce\n', [['YAML_DUPLICATE_KEY', 3, 1]]],
  ['two YAML documents', 'version: 1\n---\nversion: 1\n', [['YAML_SYNTAX', 2, 1]]],
  ['missing version', 'mode: audit\n', [['SCHEMA_MISSING_KEY', 1, 1]]],
  ['unsupported version', 'version: 2\n', [['SCHEMA_VERSION', 1, 10]]],
  ['unknown top-level key', 'version: 1\nalow:\n  - a.com\n', [['SCHEMA_UNKNOWN_KEY', 2, 1]]],
  ['bad mode', 'version: 1\nmode: block\n', [['SCHEMA_ENUM', 2, 7]]],
  ['bad loopback', 'version: 1\nloopback: yes\n', [['SCHEMA_ENUM', 2, 11]]],
  ['allow is not a list', 'version: 1\nallow: api.example.com\n', [['SCHEMA_TYPE', 2, 8]]],
  ['rule is a number', 'version: 1\nallow:\n  - 42\n', [['SCHEMA_TYPE', 3, 5]]],
  ['unknown rule key', 'version: 1\nallow:\n  - host: a.com\n    prots: [1]\n', [['SCHEMA_UNKNOWN_KEY', 4, 5]]],
  ['ports not a list', 'version: 1\nallow:\n  - host: a.com\n    ports: 443\n', [['SCHEMA_TYPE', 4, 12]]],
  ['bad proto', 'version: 1\nallow:\n  - host: a.com\n    proto: icmp\n', [['SCHEMA_ENUM', 4, 12]]],
  ['empty ports list', 'version: 1\nallow:\n  - host: a.com\n    ports: []\n', [['SCHEMA_EMPTY', 4, 12]]],
  ['unknown budgets key', 'version: 1\nbudgets:\n  perInvocation: {}\n', [['SCHEMA_UNKNOWN_KEY', 3, 3]]],
  ['negative size', 'version: 1\nbudgets:\n  perInvoke:\n    rxBytes: -1\n', [['SCHEMA_RANGE', 4, 14]]],
  ['no destination', 'version: 1\nallow:\n  - name: x\n    ports: [443]\n', [['RULE_NO_TARGET', 3, 5]]],
  ['two destinations', 'version: 1\nallow:\n  - host: a.com\n    cidr: 10.0.0.0/8\n', [['RULE_MANY_TARGETS', 4, 5]]],
  ['wildcard in the middle', 'version: 1\nallow:\n  - host: "a.*.com"\n', [['WILDCARD_FORM', 3, 11]]],
  ['bare star', 'version: 1\nallow:\n  - host: "*"\n', [['WILDCARD_FORM', 3, 11]]],
  ['star glued to a label', 'version: 1\nallow:\n  - host: "*example.com"\n', [['WILDCARD_FORM', 3, 11]]],
  ['double wildcard', 'version: 1\nallow:\n  - "*.*.example.com"\n', [['WILDCARD_FORM', 3, 5]]],
  ['leading dot', 'version: 1\nallow:\n  - host: .example.com\n', [['HOST_LEADING_DOT', 3, 11]]],
  ['host is an IP', 'version: 1\nallow:\n  - host: 10.0.0.1\n', [['HOST_IS_IP', 3, 11]]],
  ['host with port', 'version: 1\nallow:\n  - host: api.example.com:443\n', [['HOST_HAS_PORT', 3, 11]]],
  ['host is a URL', 'version: 1\nallow:\n  - host: https://api.example.com\n', [['HOST_HAS_SCHEME', 3, 11]]],
  ['empty label', 'version: 1\nallow:\n  - host: a..example.com\n', [['HOST_INVALID', 3, 11]]],
  ['bad character', 'version: 1\nallow:\n  - host: "a b.example.com"\n', [['HOST_INVALID', 3, 11]]],
  ['label too long', `version: 1\nallow:\n  - host: ${long(64)}.com\n`, [['HOST_LABEL_TOO_LONG', 3, 11]]],
  [
    'name too long',
    `version: 1\nallow:\n  - host: ${Array(5).fill(long(60)).join('.')}.com\n`,
    [['HOST_TOO_LONG', 3, 11]],
  ],
  ['bad IPv4 CIDR', 'version: 1\nallow:\n  - cidr: 10.0.0/8\n', [['CIDR_INVALID', 3, 11]]],
  ['leading zeros', 'version: 1\nallow:\n  - cidr: 010.0.0.0/8\n', [['CIDR_INVALID', 3, 11]]],
  ['prefix too long', 'version: 1\nallow:\n  - cidr: 10.0.0.0/33\n', [['CIDR_BAD_PREFIX', 3, 11]]],
  ['IPv6 prefix too long', 'version: 1\nallow:\n  - cidr: "2001:db8::/129"\n', [['CIDR_BAD_PREFIX', 3, 11]]],
  ['host bits set', 'version: 1\nallow:\n  - cidr: 10.0.0.1/8\n', [['CIDR_HOST_BITS', 3, 11]]],
  ['IPv6 host bits set', 'version: 1\nallow:\n  - cidr: "2001:db8::1/32"\n', [['CIDR_HOST_BITS', 3, 11]]],
  ['ip with prefix', 'version: 1\nallow:\n  - ip: 10.0.0.0/8\n', [['IP_HAS_PREFIX', 3, 9]]],
  ['bad ip', 'version: 1\nallow:\n  - ip: 999.1.1.1\n', [['IP_INVALID', 3, 9]]],
  ['port 0', 'version: 1\nallow:\n  - host: a.com\n    ports: [0]\n', [['PORT_OUT_OF_RANGE', 4, 13]]],
  ['port 65536', 'version: 1\nallow:\n  - host: a.com\n    ports: [443, 65536]\n', [['PORT_OUT_OF_RANGE', 4, 18]]],
  [
    'reversed range',
    'version: 1\nallow:\n  - host: a.com\n    ports: ["9000-8000"]\n',
    [['PORT_RANGE_REVERSED', 4, 13]],
  ],
  ['range past 65535', 'version: 1\nallow:\n  - host: a.com\n    ports: ["1-70000"]\n', [['PORT_OUT_OF_RANGE', 4, 13]]],
  ['port name', 'version: 1\nallow:\n  - host: a.com\n    ports: [https]\n', [['PORT_SYNTAX', 4, 13]]],
  ['shorthand port 0', 'version: 1\nallow:\n  - "a.com:0"\n', [['PORT_OUT_OF_RANGE', 3, 5]]],
  ['shorthand unclosed bracket', 'version: 1\nallow:\n  - "[2001:db8::1:443"\n', [['SHORTHAND_SYNTAX', 3, 5]]],
  ['shorthand junk after bracket', 'version: 1\nallow:\n  - "[2001:db8::1]443"\n', [['SHORTHAND_SYNTAX', 3, 5]]],
  ['unknown size unit', 'version: 1\nbudgets:\n  perInvoke:\n    rxBytes: 50mb\n', [['SIZE_UNKNOWN_UNIT', 4, 14]]],
  ['size not a size', 'version: 1\nbudgets:\n  perInvoke:\n    txBytes: lots\n', [['SIZE_SYNTAX', 4, 14]]],
  ['enforce without allow rules', 'version: 1\nmode: enforce\ndeny:\n  - a.com\n', [['POLICY_EMPTY_ALLOW', 2, 7]]],
  [
    'duplicate rule names',
    'version: 1\nallow:\n  - name: api\n    host: a.com\ndeny:\n  - name: api\n    host: b.com\n',
    [['RULE_NAME_DUPLICATE', 6, 11]],
  ],
  ['reserved rule name', 'version: 1\nallow:\n  - name: default\n    host: a.com\n', [['RULE_NAME_RESERVED', 3, 11]]],
  [
    'rule name in the builtin namespace',
    'version: 1\nallow:\n  - name: "builtin:loopback"\n    host: a.com\n',
    [['RULE_NAME_RESERVED', 3, 11]],
  ],
  [
    'rule name with brackets',
    'version: 1\nallow:\n  - name: "deny[0]"\n    host: a.com\n',
    [['RULE_NAME_INVALID', 3, 11]],
  ],
  ['rule name with spaces', 'version: 1\nallow:\n  - name: my api\n    host: a.com\n', [['RULE_NAME_INVALID', 3, 11]]],
  ['missing names file', 'version: 1\ndeny:\n  - hosts_file: nope.txt\n', [['NAMES_FILE_MISSING', 3, 17]]],
  ['empty value', 'version: 1\nallow:\n  - host: a.com\n    ports:\n', [['VALUE_EMPTY', 4, 5]]],
  ['empty mode', 'version: 1\nmode:\nallow: [a.com]\n', [['VALUE_EMPTY', 2, 1]]],
  [
    'many problems at once (schema and semantics together)',
    'version: 1\nmode: enforce\nallow:\n  - host: "a.*.com"\n    ports: [0, "9-3"]\n  - cidr: 10.0.0.1/8\n  - cidr: 10.0.0.0/8\n    prots: [1]\nbudgets:\n  perInvoke:\n    rxBytes: 5 parsecs\n',
    [
      ['WILDCARD_FORM', 4, 11],
      ['PORT_OUT_OF_RANGE', 5, 13],
      ['PORT_RANGE_REVERSED', 5, 16],
      ['CIDR_HOST_BITS', 6, 11],
      ['SCHEMA_UNKNOWN_KEY', 8, 5],
      ['SIZE_UNKNOWN_UNIT', 11, 14],
    ],
  ],
];

describe('invalid policies', () => {
  it('has at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES)('%s', async (_title, text, expected) => {
    const ds = await diagnosticsOf(text);
    const errors = ds.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.code, d.line, d.col])).toEqual(expected);
    for (const d of errors) {
      expect(d.file).toBe('policy.yaml');
      expect(d.message.length).toBeGreaterThan(10);
      // the pretty form shows the line and a caret under the column
      const pretty = formatDiagnostic(d).split('\n');
      expect(pretty[0]).toBe(`policy.yaml:${d.line}:${d.col}: error ${d.code}: ${d.message}`);
      if (d.line > 0) expect(pretty[2]!.indexOf('^') - pretty[1]!.indexOf('|')).toBe(d.col + 1);
    }
  });

  it('an alias bomb fails fast with YAML_ALIAS_LIMIT', async () => {
    const t0 = Date.now();
    const err = await compilePolicyFile(join(FIX, 'billion-laughs.yaml')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyError);
    const ds = (err as PolicyError).diagnostics;
    expect(ds.map((d) => d.code)).toEqual(['YAML_ALIAS_LIMIT']);
    expect(ds[0]!.line).toBe(4);
    expect(Date.now() - t0).toBeLessThan(30_000); // not a timing test: only "it terminated"
  });

  it('errors inside a names file are reported as thatfile:line:col', async () => {
    const err = (await compilePolicyFile(join(FIX, 'bad-names.yaml')).catch((e: unknown) => e)) as PolicyError;
    expect(err).toBeInstanceOf(PolicyError);
    const file = join(FIX, 'bad-names.txt');
    expect(err.diagnostics.map((d) => [d.file, d.code, d.line, d.col])).toEqual([
      [file, 'NAMES_FILE_SYNTAX', 3, 5],
      [file, 'HOST_INVALID', 4, 3],
      [file, 'WILDCARD_FORM', 5, 5],
      [file, 'NAMES_FILE_IP', 6, 1],
      [file, 'HOST_INVALID', 7, 17],
      [file, 'HOST_LABEL_TOO_LONG', 8, 1],
    ]);
    expect(formatDiagnostic(err.diagnostics[1]!)).toContain('  a..b.example.com');
  });

  it('a names file with many bad lines reports the first 50 and a count', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'egp-many-'));
    writeFileSync(join(dir, 'n.txt'), 'bad name\n'.repeat(80));
    writeFileSync(join(dir, 'p.yaml'), 'version: 1\ndeny:\n  - hosts_file: n.txt\n');
    const err = (await compilePolicyFile(join(dir, 'p.yaml')).catch((e: unknown) => e)) as PolicyError;
    expect(err.diagnostics.length).toBe(51);
    expect(err.diagnostics.at(-1)!.code).toBe('NAMES_FILE_TOO_MANY_ERRORS');
  });

  it('an unreadable policy file is POLICY_UNREADABLE', async () => {
    const err = (await compilePolicyFile(join(FIX, 'does-not-exist.yaml')).catch((e: unknown) => e)) as PolicyError;
    expect(err.diagnostics.map((d) => d.code)).toEqual(['POLICY_UNREADABLE']);
  });
});
