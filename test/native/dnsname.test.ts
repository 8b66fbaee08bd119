/**
 * One reading of a lookup name in C and TypeScript: the interposer's `native/src/dnsname.c` (through
 * `native/build/egname`) and `policy/names/lookup.ts` (used by `egress-guard explain`) must accept the same byte
 * strings and produce the same name. (That the C reading is glibc's own is `make -C native check`'s dnsname tests and
 * the `fuzz_dnsname` harness, both against glibc's ns_name_pton.) Deterministic: a seeded generator of names made of
 * escapes, dots, case, control and non-ASCII bytes, and runs of letters at the 63/255-byte limits.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLookupName } from '../../policy/names/lookup.js';
import { nameProblem, normalizeName } from '../../policy/names/normalize.js';
import { need, runs } from '../support/capability.js';

const ROOT = join(import.meta.dirname, '../..');
const EGNAME = join(ROOT, 'native/build/egname');
const haveCc = need(
  'a C compiler and make',
  runs('cc', ['--version']) && runs('make', ['--version']),
  'cc/make missing',
);

/** The C reading of each name (bytes without NUL), one `ok <name>` / `bad` per input. */
function readInC(names: Uint8Array[]): (string | null)[] {
  const input = names.map((n) => Buffer.from(n).toString('hex')).join('\n');
  const r = spawnSync(EGNAME, [], { input: `${input}\n`, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`egname failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.split('\n').slice(0, names.length);
  return lines.map((l) => (l === 'bad' ? null : l.startsWith('ok ') ? l.slice(3) : `?${l}`));
}

/** xorshift32 */
function prng(seed: number): (bound: number) => number {
  let s = seed >>> 0 || 1;
  return (bound) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % bound;
  };
}

const ALPHABET = [...Buffer.from('aBz09.\\\\..-_*'), 0x01, 0x20, 0x7f, 0x80, 0xc3, 0xbc, 0xff];

function randomName(next: (bound: number) => number): Uint8Array {
  const out: number[] = [];
  const want = next(8) === 0 ? 200 + next(300) : next(40);
  while (out.length < want) {
    const pick = next(10);
    if (pick < 5) out.push(ALPHABET[next(ALPHABET.length)] as number);
    else if (pick < 7) out.push(...Buffer.from(`\\${String(next(300)).padStart(3, '0')}`));
    else if (pick < 8) for (let k = 55 + next(12); k > 0 && out.length < want; k--) out.push(0x78);
    else out.push(0x61 + next(26));
  }
  return Uint8Array.from(out);
}

describe.skipIf(!haveCc)('lookup names: C (dnsname.c) and TypeScript (policy/names/lookup.ts) read them alike', () => {
  beforeAll(() => {
    const r = spawnSync('make', ['-s', '-C', join(ROOT, 'native'), 'build/egname'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building egname failed: ${r.stderr}`);
  });

  it('reads the documented spellings the same way (escapes decoded, odd bytes refused)', () => {
    const cases: [string, string | null][] = [
      ['Api.EXAMPLE.com.', 'api.example.com'],
      ['b\\097d.example.com', 'bad.example.com'],
      ['\\066AD.example.com', 'bad.example.com'],
      ['\\b\\a\\d.example.com', 'bad.example.com'],
      ['a\\.b.example.com', null],
      ['a\\032b.example.com', null],
      ['bücher.example', null],
      ['a..b', null],
      ['.', null],
      ['a\\', null],
      ['\\256.example.com', null],
      ['\\\\.example.com', '\\.example.com'],
    ];
    const bytes = cases.map(([s]) => new TextEncoder().encode(s));
    expect(readInC(bytes)).toEqual(cases.map(([, want]) => want));
    expect(cases.map(([s]) => readLookupName(s))).toEqual(cases.map(([, want]) => want));
  });

  it('agrees on 50,000 generated names', () => {
    const next = prng(0x5eed);
    const names = Array.from({ length: 50_000 }, () => randomName(next));
    const c = readInC(names);
    const diffs: string[] = [];
    names.forEach((n, i) => {
      const ts = readLookupName(n);
      if (ts !== c[i] && diffs.length < 5) diffs.push(`${Buffer.from(n).toString('hex')}: C ${c[i]} / TS ${ts}`);
    });
    expect(diffs).toEqual([]);
    // the generator reaches both outcomes often enough to mean something
    const ok = c.filter((x) => x !== null).length;
    expect(ok).toBeGreaterThan(2_000);
    expect(names.length - ok).toBeGreaterThan(2_000);
  });

  it('every name a policy can hold reads as the compiler normalises it (any case, a trailing dot, escaped letters)', () => {
    const next = prng(0xc0de);
    const pick = (chars: string) => chars[next(chars.length)] as string;
    const label = () =>
      Array.from({ length: 1 + next(12) }, () => pick('abcdefghijklmnopqrstuvwxyz0123456789-_')).join('');
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      const name = Array.from({ length: 1 + next(4) }, label).join('.');
      const norm = normalizeName(name);
      if (nameProblem(norm) !== null) continue;
      checked++;
      // what a program may pass for it: upper case, a trailing dot, a letter as a \DDD escape
      const upper = name.toUpperCase();
      const dotted = `${name}.`;
      const k = next(name.length);
      const c = name.charCodeAt(k);
      const escaped = c === 0x2e ? name : `${name.slice(0, k)}\\${String(c).padStart(3, '0')}${name.slice(k + 1)}`;
      for (const spelling of [name, upper, dotted, escaped]) {
        expect(readLookupName(spelling), spelling).toBe(norm);
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });
});
