/**
 * The C unit tests of the interposer's policy reader (native/test/unit.c), run through `make -C native check`:
 * golden fixtures decided by the C matcher, every validation check failing with its stable code on a corrupted
 * file, use-time bounds checks, 20,000 random corruptions, JSON escaping of hostile strings. Asserts the TAP-like
 * lines the binary prints (codes and checks, not prose).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { need, runs } from '../support/capability.js';

const ROOT = join(import.meta.dirname, '../..');
const haveCc = need(
  'a C compiler and make',
  runs('cc', ['--version']) && runs('make', ['--version']),
  'cc/make missing',
);

describe.skipIf(!haveCc)('native C unit tests (make -C native check)', () => {
  const r = haveCc
    ? spawnSync('make', ['-s', '-C', join(ROOT, 'native'), 'check'], { encoding: 'utf8', timeout: 300_000 })
    : null;
  const out = r?.stdout ?? '';
  const lines = out.split('\n');
  const okLines = lines.filter((l) => l.startsWith('ok '));

  it('passes every check and exits 0', () => {
    expect(
      lines.filter((l) => l.startsWith('not ok')),
      r?.stderr,
    ).toEqual([]);
    expect(out).toMatch(/^# passed \d+ failed 0$/m);
    expect(r?.status).toBe(0);
    expect(okLines.length).toBeGreaterThanOrEqual(50);
  });

  it('decides every golden query as the reference matcher recorded', () => {
    expect(out).toMatch(/^ok \d+ - golden tiny: \d+ queries agree with the reference matcher$/m);
    expect(out).toMatch(/^ok \d+ - golden names: \d+ queries agree with the reference matcher$/m);
  });

  it('rejects each corruption with its stable code', () => {
    for (const code of [
      'E_POLICY_TOO_SMALL',
      'E_POLICY_MAGIC',
      'E_POLICY_VERSION',
      'E_POLICY_HEADER_SIZE',
      'E_POLICY_FLAGS',
      'E_POLICY_SIZE_MISMATCH',
      'E_POLICY_SECTION_COUNT',
      'E_POLICY_META_CRC',
      'E_POLICY_BODY_CRC',
      'E_POLICY_SECTION_ORDER',
      'E_POLICY_SECTION_BOUNDS',
      'E_POLICY_SECTION_MISSING',
      'E_POLICY_SECTION_OVERLAP',
      'E_POLICY_RULE_COUNT',
      'E_POLICY_RULE',
      'E_POLICY_PORT_RANGE',
      'E_POLICY_RULESETS',
      'E_POLICY_SLOTS',
      'E_POLICY_INTERVALS',
    ]) {
      expect(
        okLines.some((l) => l.endsWith(` with ${code}`)),
        code,
      ).toBe(true);
    }
    expect(out).toMatch(/^ok \d+ - rejects every truncation of tiny\.egp$/m);
    expect(out).toMatch(/^ok \d+ - a missing file is E_POLICY_MISSING$/m);
  });

  it('bounds-checks at use and survives random corruption', () => {
    expect(out).toMatch(/^ok \d+ - a set index past RULESETS is not found$/m);
    expect(out).toMatch(/^ok \d+ - rule indices >= rule_count are skipped$/m);
    expect(out).toMatch(/^ok \d+ - 20000 random corruptions handled without a crash \(\d+ parsed and queried\)$/m);
  });

  it('checks the body CRC of files over 1 MiB only with EGRESS_GUARD_VERIFY=full', () => {
    expect(out).toMatch(/^ok \d+ - a large valid file parses without the full body CRC$/m);
    expect(out).toMatch(
      /^ok \d+ - above 1 MiB a body bit flip passes without EGRESS_GUARD_VERIFY=full and fails E_POLICY_BODY_CRC with it$/m,
    );
  });

  it('escapes hostile strings into one valid JSON line', () => {
    expect(out).toMatch(/^ok \d+ - escapes quotes, backslashes, newline, control bytes and DEL$/m);
    expect(out).toMatch(/^ok \d+ - invalid UTF-8 becomes \\ufffd/m);
    expect(out).toMatch(/^ok \d+ - 20000 random byte strings give one valid JSON object on one line/m);
  });
});
