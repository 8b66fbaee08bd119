/**
 * Golden tests: the realistic samples in test/fixtures/logs (three functions, plain lines, a filter-log-events
 * export and `aws logs tail --format json` output, function logs mixed in, IPv6, ports) give exactly the committed
 * policy and `--against` report. Regenerate after an intended change with `UPDATE_GOLDEN=1`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ruleHeads, suggest } from './helpers.js';

const INPUTS = ['orders-api.log', 'billing-worker.json', 'thumbnailer.txt'];
const EXPECTED = join(FIXTURES, 'expected');

function golden(name: string, actual: string): void {
  const file = join(EXPECTED, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('suggest on the realistic samples', () => {
  it('writes the golden policy, and the account of what it read on stderr', async () => {
    const r = await suggest(INPUTS);
    expect(r.code).toBe(0);
    golden('suggested-policy.yaml', r.stdout);
    expect(r.stderr).toContain('2 bad lines skipped');
    expect(r.stderr).toMatch(/E_SUGGEST_BAD_JSON: 1 \(first at orders-api\.log:\d+\)/);
    expect(r.stderr).toMatch(/E_SUGGEST_BAD_FIELDS: 1 \(first at orders-api\.log:\d+\)/);
  });

  it('proposes the rules a reviewer expects', async () => {
    const r = await suggest(INPUTS);
    const heads = ruleHeads(r.stdout);
    // three siblings under cdn.example.com collapse; S3 buckets (a public suffix) never do
    expect(heads).toContain('host: "*.cdn.example.com"');
    expect(heads).toContain('host: uploads-prod.s3.us-east-1.amazonaws.com');
    expect(heads.filter((h) => h.includes('*')).length).toBe(1);
    // IPv4-mapped connect folded into the name; a mixed-case trailing-dot lookup normalised
    expect(heads).toContain('host: sqs.us-east-1.amazonaws.com');
    // IP-only destinations: single addresses, CIDRs for three in one /24, IPv6 kept
    expect(heads).toContain('ip: "10.0.12.34"');
    expect(heads).toContain('cidr: "10.0.5.8/29"');
    expect(heads).toContain('cidr: "203.0.113.8/29"');
    expect(heads).toContain('ip: "2600:1f18:abcd:1::10"');
    // loopback, the Runtime API and X-Ray need no rule
    expect(r.stdout).not.toMatch(/127\.0\.0\.1|169\.254\.79\.129|localhost:/);
    // each rule says how often and by which function
    expect(r.stdout).toMatch(/# api\.stripe\.com: seen 4 times \(connect 2, dns 2\) by billing-worker \(4\)/);
    expect(r.stdout).toContain('WARNING: /var/task/bin/convert-static ran unguarded');
    expect(r.stdout).toMatch(/rxBytes: \d+(KiB|MiB)/);
  });

  it('is deterministic: same bytes on every run and whatever the input order', async () => {
    const a = await suggest(INPUTS);
    const b = await suggest([...INPUTS].reverse());
    const c = await suggest(INPUTS);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).toBe(a.stdout);
  });

  it('gives the golden --against report', async () => {
    const r = await suggest([...INPUTS, '--against', 'expected/old-policy.yaml']);
    expect(r.code).toBe(1);
    golden('against-report.txt', r.stdout);
  });
});
