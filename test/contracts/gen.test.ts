/**
 * The contract generator (contracts/gen/, `npm run gen`):
 * - every committed generated file is exactly what the specs produce (fails when someone edits a spec without
 *   running `npm run gen`, or edits a generated file by hand);
 * - a stale or hand-edited output is named, in a scratch copy of the specs;
 * - invalid specs are refused with every problem listed (misspelt keys, overlapping or misaligned fields, duplicate
 *   codes, defaults outside the values);
 * - the C headers compile (C11, -Wall -Wextra -Werror) and a real C program built from them prints the same values as
 *   the TypeScript modules hold.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, staleOutputs, writeOutputs } from '../../contracts/gen/files.js';
import { loadSpecs, SpecError } from '../../contracts/gen/load.js';
import { VARIABLES } from '../../policy/gen/config.js';
import { POLICY_READER_ERRORS } from '../../policy/gen/errors.js';
import * as F from '../../policy/gen/format.js';
import * as S from '../../policy/gen/state.js';
import { needCommand } from '../support/capability.js';

/** A scratch repository root holding a copy of contracts/*.yaml and the outputs they produce. */
function scratchRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'eg-contracts-'));
  cpSync(join(REPO_ROOT, 'contracts'), join(root, 'contracts'), {
    recursive: true,
    filter: (p) => !p.includes('/gen'),
  });
  writeOutputs(root);
  return root;
}

function edit(root: string, file: string, from: string, to: string): void {
  const p = join(root, 'contracts', file);
  const text = readFileSync(p, 'utf8');
  expect(text.includes(from), `${file} holds ${from}`).toBe(true);
  writeFileSync(p, text.replace(from, to));
}

function problemsOf(root: string): string[] {
  try {
    loadSpecs(join(root, 'contracts'));
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).problems;
  }
  return [];
}

describe('generated contract files', () => {
  it('are up to date with the specs (run `npm run gen` after editing contracts/*.yaml)', () => {
    expect(staleOutputs()).toEqual([]);
  });

  it('a spec change or a hand edit makes exactly the affected outputs stale', () => {
    const root = scratchRoot();
    expect(staleOutputs(root)).toEqual([]);
    edit(root, 'state.yaml', 'size: 512', 'size: 1024');
    expect(staleOutputs(root)).toEqual(['native/src/gen/state.h', 'policy/gen/state.ts']);
    writeOutputs(root);
    writeFileSync(
      join(root, 'policy/gen/format.ts'),
      `${readFileSync(join(root, 'policy/gen/format.ts'), 'utf8')}// x\n`,
    );
    expect(staleOutputs(root)).toEqual(['policy/gen/format.ts']);
    writeOutputs(root);
    edit(root, 'config.yaml', 'values: ["off", audit, enforce]', 'values: ["off", audit, enforce, block]');
    expect(staleOutputs(root)).toEqual(['native/src/gen/config.h', 'policy/gen/config.ts']);
  });
});

describe('invalid specs are refused with every problem listed', () => {
  it('the committed specs are valid', () => {
    expect(problemsOf(REPO_ROOT)).toEqual([]);
  });

  it('a misspelt key, an overlapping field, a misaligned field and a duplicate code', () => {
    const root = scratchRoot();
    edit(root, 'format.yaml', 'element_size: 24 }', 'elem_size: 24 }');
    edit(root, 'state.yaml', '{ name: io_tx, offset: 136,', '{ name: io_tx, offset: 132,');
    edit(root, 'state.yaml', '{ name: n_cut, offset: 232,', '{ name: n_cut, offset: 236,');
    edit(root, 'errors.yaml', 'code: E_POLICY_SLOTS,', 'code: E_POLICY_RULESETS,');
    const problems = problemsOf(root);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^format\.yaml: \/sections\/0: must NOT have additional properties \(elem_size\)/),
      ]),
    );
    // the schema error stops the cross-checks of that run: fix it and the rest are all reported together
    edit(root, 'format.yaml', 'elem_size: 24 }', 'element_size: 24 }');
    expect(problemsOf(root)).toEqual([
      'errors.yaml: policy_reader: E_POLICY_RULESETS appears twice',
      'state.yaml: fields: io_tx at 132 is not 8-byte aligned',
      'state.yaml: fields: io_tx at 132 overlaps the field before it (ends at 136)',
      'state.yaml: fields: n_cut at 236 is not 8-byte aligned',
    ]);
  });

  it('a configuration default or invalid behaviour outside the values', () => {
    const root = scratchRoot();
    edit(root, 'config.yaml', 'values: [auto, full]\n    default: auto', 'values: [auto, full]\n    default: fast');
    edit(root, 'config.yaml', 'invalid: { use: enforce, fail_closed: true', 'invalid: { use: block, fail_closed: true');
    expect(problemsOf(root)).toEqual([
      'config.yaml: EGRESS_GUARD_MODE: invalid.use block is neither "default" nor one of its values',
      'config.yaml: EGRESS_GUARD_VERIFY: default fast is not one of its values',
    ]);
  });
});

const cc = needCommand('cc');

describe.skipIf(!cc)('the C headers and the TypeScript modules hold the same values', () => {
  it('a C program built from native/src/gen/*.h prints what policy/gen/*.ts holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-contracts-c-'));
    const src = join(dir, 'probe.c');
    const prints: string[] = [];
    const num = (key: string, expr: string) => prints.push(`printf("%s %lld\\n", "${key}", (long long)(${expr}));`);
    const u64 = (key: string, expr: string) =>
      prints.push(`printf("%s %llu\\n", "${key}", (unsigned long long)(${expr}));`);
    const str = (key: string, expr: string) => prints.push(`printf("%s %s\\n", "${key}", ${expr});`);
    const want = new Map<string, string>();
    const expectNum = (key: string, expr: string, v: number | bigint) => {
      (typeof v === 'bigint' ? u64 : num)(key, expr);
      want.set(key, String(v));
    };
    // format
    expectNum('version', 'EGP_VERSION', F.FORMAT_VERSION);
    expectNum('min_version', 'EGP_MIN_VERSION', F.MIN_FORMAT_VERSION);
    str('magic', 'EGP_MAGIC');
    want.set('magic', Buffer.from(F.MAGIC).toString('latin1'));
    const constants: Array<[string, number]> = [
      ['HEADER_SIZE', F.HEADER_SIZE],
      ['SECTION_ENTRY_SIZE', F.SECTION_ENTRY_SIZE],
      ['MIN_SECTIONS', F.MIN_SECTIONS],
      ['MAX_SECTIONS', F.MAX_SECTIONS],
      ['BODY_CRC_ALWAYS_MAX', F.BODY_CRC_ALWAYS_MAX],
      ['RULE_SIZE', F.RULE_SIZE],
      ['MAX_RULE_NAME_LEN', F.MAX_RULE_NAME_LEN],
      ['WRITE_VERSION', F.WRITE_VERSION],
      ['TREE_ALIGN', F.TREE_ALIGN],
      ['LEAF_INTERVALS', F.LEAF_INTERVALS],
      ['V4_FANOUT', F.V4_FANOUT],
      ['V6_FANOUT', F.V6_FANOUT],
    ];
    for (const [k, v] of constants) expectNum(k, `EGP_${k}`, v);
    expectNum('NO_BUDGET', 'EGP_NO_BUDGET', F.NO_BUDGET);
    for (const [name, f] of Object.entries(F.HEADER))
      expectNum(`hdr.${name}`, `EGP_HDR_${name.toUpperCase()}`, f.offset);
    expectNum('flags', 'EGP_FLAGS_KNOWN', F.KNOWN_FLAGS);
    prints.push('{ static const unsigned sz[] = EGP_SEC_ELEMENT_SIZES; (void)sz;');
    for (const [name, id] of Object.entries(F.Section)) {
      expectNum(`sec.${name}`, `EGP_SEC_${name}`, id);
      expectNum(`size.${name}`, `sz[EGP_SEC_${name}]`, F.ELEMENT_SIZE[id]);
    }
    prints.push('}');
    // sections required by each version = the ids whose `since` is at most that version
    prints.push('{ static const unsigned req[] = EGP_SEC_REQUIRED_BY_VERSION; (void)req;');
    for (let v = 1; v <= F.FORMAT_VERSION; v++) {
      const ids = Object.values(F.Section).filter((id) => F.SECTION_SINCE[id] <= v);
      expectNum(`required.v${v}`, `req[${v}]`, ids.length);
    }
    prints.push('}');
    for (const [name, r] of Object.entries(F.RULE_CODES)) {
      expectNum(`rule.${name}`, `${r.by === 'reader' ? 'EGP' : 'EG'}_RULE_${name}`, r.code);
    }
    // reader errors: X-macro order = enum order = spec order
    prints.push('#define P(id, code, check, eg, what) printf("err %d %s %d %d\\n", (int)id, code, check, eg);');
    prints.push('EGP_ERRORS(P)');
    want.set(
      'err',
      Object.entries(POLICY_READER_ERRORS)
        .map(([code, e], i) => `${i + 1} ${code} ${e.check} ${e.expectedGot ? 1 : 0}`)
        .join('|'),
    );
    // state file
    expectNum('state.size', 'EG_STATE_SIZE', S.STATE_SIZE);
    expectNum('state.version', 'EG_STATE_VERSION', S.STATE_VERSION);
    for (const [name, f] of Object.entries(S.STATE_FIELD)) {
      expectNum(`state.field.${name}`, `EG_STATE_OFF_${name.toUpperCase()}`, f.offset);
    }
    expectNum('state.armed', 'EG_STATE_FLAG_ARMED', S.STATE_FLAG_ARMED);
    expectNum('state.no_limit', 'EG_STATE_NO_LIMIT', S.STATE_NO_LIMIT);
    // configuration
    for (const [id, v] of Object.entries(VARIABLES)) {
      str(`cfg.${id}`, `EG_CFG_${id}_NAME`);
      want.set(`cfg.${id}`, v.name);
    }
    writeFileSync(
      src,
      [
        '#include <stdio.h>',
        '#include "gen/egp_format.h"',
        '#include "gen/egp_errors.h"',
        '#include "gen/state.h"',
        '#include "gen/config.h"',
        'int main(void) {',
        ...prints,
        'return 0; }',
        '',
      ].join('\n'),
    );
    const bin = join(dir, 'probe');
    const build = spawnSync(
      'cc',
      ['-std=c11', '-Wall', '-Wextra', '-Werror', '-I', join(REPO_ROOT, 'native/src'), '-o', bin, src],
      { encoding: 'utf8' },
    );
    expect(build.status, build.stderr).toBe(0);
    const out = spawnSync(bin, [], { encoding: 'utf8' }).stdout.trim().split('\n');
    const got = new Map<string, string>();
    for (const line of out) {
      const sp = line.indexOf(' ');
      const [k, v] = [line.slice(0, sp), line.slice(sp + 1)];
      got.set(k, got.has(k) ? `${got.get(k)}|${v}` : v);
    }
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });
});
