/**
 * Golden fixtures: test/fixtures/golden/<name>.yaml must compile to exactly <name>.egp (format version 1),
 * <name>.v2.egp (version 2) and <name>.v3.egp (version 3), and the reference matcher over each must give every decision listed in
 * <name>.queries.jsonl (the same files the C reader's tests use). Regenerate after an intended format or compiler change with `UPDATE_GOLDEN=1 npx vitest run
 * test/policy/golden.test.ts`, then review the diff of the .jsonl files by hand.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicyFile, loadCompiled, normalizeName } from '../../policy/index.js';
import { GOLDEN_QUERIES, type GoldenQuery } from './golden-queries.js';

const DIR = join(import.meta.dirname, '../fixtures/golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

interface Expected {
  decision: 'allow' | 'deny';
  rule: string;
  ruleIndex: number | null;
}

/** Name queries also carry the normalised name, for readers that do no IDN conversion (the C reader). */
function normalized(q: GoldenQuery): { normalized?: string } {
  return q.q === 'name' ? { normalized: normalizeName(q.name) } : {};
}

function run(bytes: Uint8Array, q: GoldenQuery): Expected {
  const p = loadCompiled(bytes);
  return q.q === 'name' ? p.decideName(q.name, q.port, q.proto) : p.decideAddr(q.ip, q.port, q.proto, q.boundName);
}

const FIXTURES = Object.keys(GOLDEN_QUERIES).flatMap((name) =>
  [1, 2, 3].map((version) => ({ name, version: version as 1 | 2 | 3 })),
);

describe.each(FIXTURES)('golden fixture $name, format version $version', ({ name, version }) => {
  const yamlPath = join(DIR, `${name}.yaml`);
  const egpPath = join(DIR, version === 1 ? `${name}.egp` : `${name}.v${version}.egp`);
  const jsonlPath = join(DIR, `${name}.queries.jsonl`);

  it('compiles to the committed bytes', async () => {
    const { bytes, warnings } = await compilePolicyFile(yamlPath, undefined, { formatVersion: version });
    expect(warnings.filter((w) => w.severity === 'error')).toEqual([]);
    expect(loadCompiled(bytes).version).toBe(version);
    if (UPDATE) writeFileSync(egpPath, bytes);
    if (UPDATE && version === 1) {
      const lines = GOLDEN_QUERIES[name]!.map((q) => JSON.stringify({ ...q, ...normalized(q), ...run(bytes, q) }));
      writeFileSync(jsonlPath, `${lines.join('\n')}\n`);
    }
    expect(existsSync(egpPath)).toBe(true);
    expect(Buffer.from(bytes).equals(readFileSync(egpPath))).toBe(true);
  });

  it('the matcher over the committed bytes gives every listed decision', () => {
    const bytes = new Uint8Array(readFileSync(egpPath));
    const lines = readFileSync(jsonlPath, 'utf8').trim().split('\n');
    expect(lines.length).toBe(GOLDEN_QUERIES[name]!.length);
    lines.forEach((line, i) => {
      const {
        decision,
        rule,
        ruleIndex,
        normalized: norm,
        ...q
      } = JSON.parse(line) as GoldenQuery & Expected & { normalized?: string };
      expect(q).toEqual(GOLDEN_QUERIES[name]![i]);
      expect(run(bytes, q as GoldenQuery), line).toEqual({ decision, rule, ruleIndex });
      if (q.q === 'name') {
        expect(norm).toBe(normalizeName(q.name));
        // the normalised form decides exactly like the raw name
        expect(run(bytes, { ...q, name: norm! } as GoldenQuery), line).toEqual({ decision, rule, ruleIndex });
      }
    });
  });
});
