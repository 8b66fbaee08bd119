/**
 * The compiled format (docs/FORMAT.md) byte by byte: hash and CRC definitions, the structural invariants of written
 * files, every reader check (each failing with its own stable code), bounds checks at use, unknown sections,
 * determinism.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../policy/format/crc32.js';
import { hashString } from '../../policy/format/hash.js';
import { POLICY_READER_ERRORS, type PolicyReaderErrorCode } from '../../policy/gen/errors.js';
import { FormatError, loadCompiled } from '../../policy/index.js';
import { compileAndLoad } from './helpers.js';

const GOLDEN = join(import.meta.dirname, '../fixtures/golden');
const tiny = () => new Uint8Array(readFileSync(join(GOLDEN, 'tiny.egp')));
const names = () => new Uint8Array(readFileSync(join(GOLDEN, 'names.egp')));
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The spec's hash written independently with BigInt arithmetic. */
function specHash(s: string): number {
  const M = 0xffffffffn;
  let h = 0x811c9dc5n;
  for (const b of Buffer.from(s, 'latin1')) h = ((h ^ BigInt(b)) * 0x01000193n) & M;
  h ^= h >> 16n;
  h = (h * 0x85ebca6bn) & M;
  h ^= h >> 13n;
  h = (h * 0xc2b2ae35n) & M;
  h ^= h >> 16n;
  return Number(h);
}

interface Sec {
  id: number;
  count: number;
  offset: number;
}
function sections(b: Uint8Array): Sec[] {
  const v = dv(b);
  const n = v.getUint32(24, true);
  return Array.from({ length: n }, (_, i) => ({
    id: v.getUint32(64 + i * 16, true),
    count: v.getUint32(64 + i * 16 + 4, true),
    offset: Number(v.getBigUint64(64 + i * 16 + 8, true)),
  }));
}
const sec = (b: Uint8Array, id: number) => sections(b).find((s) => s.id === id)!;

/** Recomputes both CRCs, so a test reaches the check it is about. */
function fixCrc(b: Uint8Array): Uint8Array {
  const v = dv(b);
  const tableEnd = 64 + 16 * v.getUint32(24, true);
  v.setUint32(28, 0, true);
  v.setUint32(32, crc32(b.subarray(tableEnd)), true);
  const meta = b.slice(0, tableEnd);
  meta.fill(0, 28, 36);
  v.setUint32(28, crc32(meta), true);
  return b;
}

function codeOf(b: Uint8Array, opts?: { verify?: 'auto' | 'full' }): string {
  try {
    loadCompiled(b, opts);
  } catch (e) {
    if (e instanceof FormatError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('hash and checksum', () => {
  it('crc32("123456789") = 0xCBF43926', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
  it('the name hash is FNV-1a 32 + murmur3 finaliser', () => {
    for (const s of ['', 'a', 'example.com', 'xn--bcher-kva.example', 'x'.repeat(253), 's3.amazonaws.com']) {
      expect(hashString(s)).toBe(specHash(s));
    }
  });
});

describe('written files satisfy the format invariants', () => {
  for (const [label, load] of [
    ['tiny', tiny],
    ['names', names],
  ] as const) {
    it(label, () => {
      const b = load();
      const v = dv(b);
      expect([...b.subarray(0, 8)]).toEqual([0x45, 0x47, 0x52, 0x44, 0x50, 0x4f, 0x4c, 0x01]);
      expect(v.getUint16(8, true)).toBe(1);
      expect(v.getUint16(10, true)).toBe(64);
      expect(Number(v.getBigUint64(16, true))).toBe(b.length);
      const ss = sections(b);
      expect(ss.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const sizes: Record<number, number> = { 1: 24, 2: 4, 3: 4, 4: 1, 5: 4, 6: 16, 7: 4, 8: 16, 9: 8, 10: 24 };
      let end = 64 + 16 * ss.length;
      for (const s of ss) {
        expect(s.offset % 8).toBe(0);
        expect(s.offset).toBeGreaterThanOrEqual(end);
        end = s.offset + s.count * sizes[s.id]!;
      }
      expect(b.length - end).toBeLessThan(8);
      // RULESETS: word 0 = 0; every set strictly ascending and in range; no set stored twice
      const rs = sec(b, 3);
      const words = Array.from({ length: rs.count }, (_, i) => v.getUint32(rs.offset + i * 4, true));
      expect(words[0]).toBe(0);
      const seen = new Set<string>();
      for (let i = 1; i < words.length; ) {
        const n = words[i]!;
        const set = words.slice(i + 1, i + 1 + n);
        expect(set.every((r, k) => r < v.getUint32(36, true) && (k === 0 || r > set[k - 1]!))).toBe(true);
        expect(seen.has(set.join())).toBe(false);
        seen.add(set.join());
        i += 1 + n;
      }
      // name tables: entries sorted by key bytes, unique, hash stored, slots a power of two > entries
      const strings = sec(b, 4);
      for (const [slotsId, entriesId] of [
        [5, 6],
        [7, 8],
      ]) {
        const e = sec(b, entriesId!);
        const slots = sec(b, slotsId!);
        if (e.count > 0) expect(slots.count & (slots.count - 1)).toBe(0);
        expect(slots.count === 0 ? e.count === 0 : slots.count >= 2 * e.count).toBe(true);
        let prev: Buffer | null = null;
        for (let i = 0; i < e.count; i++) {
          const o = e.offset + i * 16;
          const key = Buffer.from(
            b.subarray(
              strings.offset + v.getUint32(o + 4, true),
              strings.offset + v.getUint32(o + 4, true) + v.getUint32(o + 8, true),
            ),
          );
          expect(v.getUint32(o, true)).toBe(specHash(key.toString('latin1')));
          if (prev) expect(Buffer.compare(prev, key)).toBeLessThan(0);
          prev = key;
        }
      }
      // intervals: start at 0, strictly ascending, adjacent sets differ (merged)
      const v4 = sec(b, 9);
      const starts = Array.from({ length: v4.count }, (_, i) => v.getUint32(v4.offset + i * 8, true));
      const sets4 = Array.from({ length: v4.count }, (_, i) => v.getUint32(v4.offset + i * 8 + 4, true));
      expect(starts[0]).toBe(0);
      for (let i = 1; i < starts.length; i++) {
        expect(starts[i]!).toBeGreaterThan(starts[i - 1]!);
        expect(sets4[i]).not.toBe(sets4[i - 1]);
      }
      const v6 = sec(b, 10);
      expect([...b.subarray(v6.offset, v6.offset + 16)].every((x) => x === 0)).toBe(true);
      for (let i = 1; i < v6.count; i++) {
        const a = Buffer.from(b.subarray(v6.offset + (i - 1) * 24, v6.offset + (i - 1) * 24 + 16));
        const c = Buffer.from(b.subarray(v6.offset + i * 24, v6.offset + i * 24 + 16));
        expect(Buffer.compare(a, c)).toBeLessThan(0);
        // no IPv4-mapped boundaries in the IPv6 table
        expect(c.subarray(0, 10).every((x) => x === 0) && c[10] === 0xff && c[11] === 0xff).toBe(false);
      }
    });
  }

  it('the names fixture stores a duplicate name once and the shared rule set once', () => {
    const p = loadCompiled(names());
    expect(p.lookup('exact', 'mal.example.com')).toBe(p.lookup('exact', 'tracker.example.com'));
    expect(p.lookup('exact', 'mal.example.com')).not.toBe(0);
    expect(p.lookup('wild', 'bad.example.com')).not.toBe(0);
    expect(p.lookup('exact', 'bad.example.com')).toBe(0);
  });
});

describe('reader checks (docs/FORMAT.md "How a reader validates")', () => {
  const R = (b: Uint8Array) => sec(b, 1).offset; // first RULES record
  const cases: Array<[string, (b: Uint8Array) => Uint8Array, string]> = [
    ['valid file', (b) => b, 'ok'],
    ['too small', (b) => b.slice(0, 63), 'E_POLICY_TOO_SMALL'],
    ['bad magic', (b) => put(b, 0, 1, 0x46), 'E_POLICY_MAGIC'],
    ['other version', (b) => put(b, 8, 2, 4), 'E_POLICY_VERSION'],
    ['version 0', (b) => put(b, 8, 2, 0), 'E_POLICY_VERSION'],
    [
      'a version 1 file that says version 2 (its trees are missing)',
      (b) => fixCrc(put(b, 8, 2, 2)),
      'E_POLICY_SECTION_MISSING',
    ],
    [
      'a version 1 file that says version 3 (its trees and name tables are missing)',
      (b) => fixCrc(put(b, 8, 2, 3)),
      'E_POLICY_SECTION_MISSING',
    ],
    ['header size', (b) => put(b, 10, 2, 72), 'E_POLICY_HEADER_SIZE'],
    ['unknown flag', (b) => put(b, 12, 4, 4), 'E_POLICY_FLAGS'],
    ['truncated', (b) => b.slice(0, b.length - 8), 'E_POLICY_SIZE_MISMATCH'],
    ['extended', (b) => Uint8Array.from([...b, 0, 0, 0, 0, 0, 0, 0, 0]), 'E_POLICY_SIZE_MISMATCH'],
    ['section count 9', (b) => fixCrc(put(b, 24, 4, 9)), 'E_POLICY_SECTION_COUNT'],
    ['section count 65', (b) => fixCrc(put(b, 24, 4, 65)), 'E_POLICY_SECTION_COUNT'],
    ['meta crc', (b) => put(b, 36, 4, 99), 'E_POLICY_META_CRC'],
    ['body crc', (b) => put(b, b.length - 40, 1, b[b.length - 40]! ^ 1), 'E_POLICY_BODY_CRC'],
    ['table order', (b) => fixCrc(swapEntries(b, 2, 3)), 'E_POLICY_SECTION_ORDER'],
    ['duplicate id', (b) => fixCrc(put(b, 64 + 16, 4, 1)), 'E_POLICY_SECTION_ORDER'],
    ['missing id', (b) => fixCrc(put(b, 64 + 9 * 16, 4, 11)), 'E_POLICY_SECTION_MISSING'],
    ['misaligned', (b) => fixCrc(addOffset(b, 3, 4)), 'E_POLICY_SECTION_BOUNDS'],
    ['inside table', (b) => fixCrc(setOffset(b, 0, 64)), 'E_POLICY_SECTION_BOUNDS'],
    ['past the end', (b) => fixCrc(put(b, 64 + 3 * 16 + 4, 4, 1_000_000)), 'E_POLICY_SECTION_BOUNDS'],
    ['huge offset', (b) => fixCrc(put(b, 64 + 3 * 16 + 8, 8, 0xfffffffffffffff8n)), 'E_POLICY_SECTION_BOUNDS'],
    ['overlap', (b) => fixCrc(setOffset(b, 1, sec(b, 1).offset)), 'E_POLICY_SECTION_OVERLAP'],
    ['rule count', (b) => fixCrc(put(b, 36, 4, 3)), 'E_POLICY_RULE_COUNT'],
    ['rule action', (b) => fixCrc(put(b, R(b) + 8, 1, 2)), 'E_POLICY_RULE'],
    ['rule proto 0', (b) => fixCrc(put(b, R(b) + 9, 1, 0)), 'E_POLICY_RULE'],
    ['rule kind 5', (b) => fixCrc(put(b, R(b) + 10, 1, 5)), 'E_POLICY_RULE'],
    ['rule name empty', (b) => fixCrc(put(b, R(b) + 4, 4, 0)), 'E_POLICY_RULE'],
    ['rule name out of strings', (b) => fixCrc(put(b, R(b), 4, 1_000_000)), 'E_POLICY_RULE'],
    ['rule ports out of range', (b) => fixCrc(put(b, R(b) + 16, 4, 99)), 'E_POLICY_RULE'],
    ['port lo > hi', (b) => fixCrc(put(b, sec(b, 2).offset, 2, 9999)), 'E_POLICY_PORT_RANGE'],
    ['rulesets word 0', (b) => fixCrc(put(b, sec(b, 3).offset, 4, 1)), 'E_POLICY_RULESETS'],
    ['slots not a power of two', (b) => fixCrc(put(b, 64 + 4 * 16 + 4, 4, 3)), 'E_POLICY_SLOTS'],
    ['v4 first start', (b) => fixCrc(put(b, sec(b, 9).offset, 4, 1)), 'E_POLICY_INTERVALS'],
    ['v6 first start', (b) => fixCrc(put(b, sec(b, 10).offset + 15, 1, 1)), 'E_POLICY_INTERVALS'],
  ];
  it.each(cases)('%s → %s', (_t, mutate, code) => {
    expect(codeOf(mutate(tiny()))).toBe(code);
  });

  it('covers every byte-level code; each error carries its check number and, where the spec says so, expected/got', () => {
    const fileLevel = ['E_POLICY_MISSING', 'E_POLICY_OPEN']; // need a path, not bytes: native/test/unit.c covers them
    const covered = new Set(cases.map((c) => c[2]));
    expect(Object.keys(POLICY_READER_ERRORS).filter((c) => !covered.has(c) && !fileLevel.includes(c))).toEqual([]);
    for (const [name, mutate, code] of cases.slice(1)) {
      let err: FormatError | null = null;
      try {
        loadCompiled(mutate(tiny()));
      } catch (e) {
        err = e as FormatError;
      }
      const spec = POLICY_READER_ERRORS[code as PolicyReaderErrorCode];
      expect(err?.check, name).toBe(spec.check);
      expect(
        Object.keys(err?.detail ?? {}).filter((k) => k === 'expected' || k === 'got'),
        name,
      ).toEqual(spec.expectedGot ? ['expected', 'got'] : []);
    }
  });

  it('a version mismatch reports expected and got', () => {
    const b = tiny();
    dv(b).setUint16(8, 7, true);
    try {
      loadCompiled(b);
      expect.unreachable();
    } catch (e) {
      expect((e as FormatError).detail).toEqual({ expected: 3, got: 7 }); // expected: the newest version
    }
  });
});

/** Writes a little-endian integer of `size` bytes at `off`; returns the buffer. */
function put(b: Uint8Array, off: number, size: 1 | 2 | 4 | 8, value: number | bigint): Uint8Array {
  const v = dv(b);
  if (size === 1) v.setUint8(off, Number(value));
  else if (size === 2) v.setUint16(off, Number(value), true);
  else if (size === 4) v.setUint32(off, Number(value), true);
  else v.setBigUint64(off, BigInt(value), true);
  return b;
}

function swapEntries(b: Uint8Array, i: number, j: number): Uint8Array {
  const a = b.slice(64 + i * 16, 64 + i * 16 + 16);
  b.copyWithin(64 + i * 16, 64 + j * 16, 64 + j * 16 + 16);
  b.set(a, 64 + j * 16);
  return b;
}
function setOffset(b: Uint8Array, entry: number, offset: number): Uint8Array {
  dv(b).setBigUint64(64 + entry * 16 + 8, BigInt(offset), true);
  return b;
}
function addOffset(b: Uint8Array, entry: number, delta: number): Uint8Array {
  return setOffset(b, entry, Number(dv(b).getBigUint64(64 + entry * 16 + 8, true)) + delta);
}

describe('large files, bounds at use, unknown sections', () => {
  it('the body checksum is skipped above 1 MiB unless verify is full', async () => {
    const lines = Array.from({ length: 60_000 }, (_, i) => `host-${i}.example.test`).join('\n');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'egp-big-'));
    writeFileSync(join(dir, 'n.txt'), lines);
    const { bytes } = await compileAndLoad('version: 1\nallow: [a.test]\ndeny:\n  - hosts_file: n.txt\n', dir);
    expect(bytes.length).toBeGreaterThan(1024 * 1024);
    const b = bytes.slice();
    put(b, b.length - 100, 1, b[b.length - 100]! ^ 0x55); // inside the last section
    expect(codeOf(b)).toBe('ok');
    expect(codeOf(b, { verify: 'full' })).toBe('E_POLICY_BODY_CRC');
    // and the big file decides like a small one
    const p = loadCompiled(bytes);
    expect(p.decideName('host-59999.example.test').rule).toBe('deny[0]');
    expect(p.decideName('host-60000.example.test').rule).toBe('default');
  });

  it('out-of-range references read from the file make that element "not found", never a crash', () => {
    const b = tiny();
    const p0 = loadCompiled(b);
    expect(p0.decideName('api.example.com').rule).toBe('allow[0]');
    // every exact entry's key points past STRINGS
    const e = sec(b, 6);
    for (let i = 0; i < e.count; i++) dv(b).setUint32(e.offset + i * 16 + 4, 0xfffffff0, true);
    // every interval's set points past RULESETS
    const v4 = sec(b, 9);
    for (let i = 0; i < v4.count; i++) dv(b).setUint32(v4.offset + i * 8 + 4, 0xffffff00, true);
    // every wildcard entry's set holds a rule index past RULES
    const rs = sec(b, 3);
    const w = sec(b, 8);
    for (let i = 0; i < w.count; i++) {
      const set = dv(b).getUint32(w.offset + i * 16 + 12, true);
      dv(b).setUint32(rs.offset + (set + 1) * 4, 0xfffffff0, true);
    }
    const p = loadCompiled(fixCrc(b));
    expect(p.decideName('api.example.com').rule).toBe('default');
    expect(p.decideAddr('10.2.3.4', 5432, 'tcp').rule).toBe('default');
    expect(p.decideName('x.s3.amazonaws.com').rule).toBe('default');
    expect(p.decideAddr('2001:db8::1', 443, 'tcp').rule).toBe('allow[3]');
  });

  it('a section with an unknown id (> 10) is skipped', () => {
    const b = tiny();
    const v = dv(b);
    const n = v.getUint32(24, true);
    const tableEnd = 64 + 16 * n;
    const out = new Uint8Array(b.length + 16 + 8);
    out.set(b.subarray(0, tableEnd));
    out.set(b.subarray(tableEnd), tableEnd + 16);
    const ov = dv(out);
    for (let i = 0; i < n; i++) ov.setBigUint64(64 + i * 16 + 8, ov.getBigUint64(64 + i * 16 + 8, true) + 16n, true);
    ov.setUint32(tableEnd, 11, true);
    ov.setUint32(tableEnd + 4, 8, true);
    ov.setBigUint64(tableEnd + 8, BigInt(b.length + 16), true);
    out.fill(0xab, b.length + 16);
    ov.setUint32(24, n + 1, true);
    ov.setBigUint64(16, BigInt(out.length), true);
    const p = loadCompiled(fixCrc(out));
    expect(p.decideName('api.example.com').rule).toBe('allow[0]');
    expect(p.decideAddr('10.1.3.4', 5432, 'tcp').rule).toBe('deny[2]');
  });
});

describe('determinism', () => {
  it('the same policy compiles to identical bytes, whatever its file name, directory or names-file line order', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const d1 = mkdtempSync(join(tmpdir(), 'egp-det-'));
    const d2 = mkdtempSync(join(tmpdir(), 'egp-det-other-'));
    const list = Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? `*.w${i}.test` : `n${i}.test`));
    writeFileSync(join(d1, 'feed.txt'), list.join('\n'));
    writeFileSync(join(d2, 'feed.txt'), [...list].reverse().join('\n'));
    const text = readFileSync(join(GOLDEN, 'tiny.yaml'), 'utf8').replace(
      'deny:\n',
      'deny:\n  - hosts_file: feed.txt\n',
    );
    const a = await compileAndLoad(text, d1, 'a.yaml');
    const b = await compileAndLoad(text, d2, 'other-name.yml');
    const c = await compileAndLoad(text, d1, 'a.yaml');
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(true);
  });
});
