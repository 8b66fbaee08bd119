/**
 * Regression test for the IP interval builder (policy/format/intervals.ts): a generated medium policy of ~3,100
 * overlapping IPv4/IPv6/IPv4-mapped CIDR rules with ports, protocols and deny rules (./cidr-policy.ts) must compile
 * to exactly the bytes the builder produced before it stopped keying a Map by bigint points (sha256 recorded from
 * that code, commit 175a386), with the same warnings. The golden fixtures pin small policies; this pins large
 * interval and rule-set tables. If the format or compiler changes on purpose, recompute the digest and say why.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import { cidrPolicyYaml } from './cidr-policy.js';

const SHA256 = '2b4b2c2a4c969f33b5a43b3584277664fda695d794adf88306e27b29588f0502';

describe('generated medium CIDR policy', () => {
  it('compiles to the recorded bytes and warnings', () => {
    // format version 1: the digest was recorded from it (version 2 adds the trees over these same tables)
    const { bytes, warnings } = compilePolicyTextSync(cidrPolicyYaml(), 'cidr.yaml', { formatVersion: 1 });
    expect(bytes.length).toBe(456400);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(SHA256);
    const counts: Record<string, number> = {};
    for (const w of warnings) counts[w.code] = (counts[w.code] ?? 0) + 1;
    expect(counts).toEqual({ ALLOW_CANCELLED_BY_DENY: 755, RULE_SHADOWED: 1521, CIDR_INCLUDES_IPV4: 13 });
  });
});
