/**
 * Rate-limit summary lines (docs/LOGGING.md "Rate limit"): a line with `suppressed: N` stands for N occurrences of
 * the line it repeats, so suggest counts events, not lines; a `suppressed` that is not a positive integer makes the
 * line unusable (E_SUGGEST_BAD_FIELDS), never a silent 1.
 */
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../policy/suggest/aggregate.js';

const line = (extra: Record<string, unknown> = {}) => ({
  name: 'egress-guard',
  event: 'connect',
  ip: '203.0.113.9',
  port: 443,
  proto: 'tcp',
  decision: 'deny',
  blocked: true,
  rule: 'default',
  requestId: 'r-1',
  ...extra,
});

describe('rate-limit summary lines', () => {
  it('count as their suppressed occurrences, per destination, kind, decision, rule and function', () => {
    const agg = new Aggregator();
    for (let i = 0; i < 10; i++) agg.record(line(), { source: '-', line: i + 1 });
    agg.record(line({ suppressed: 48_201, window: 10 }), { source: '-', line: 11 });
    agg.record(
      { name: 'egress-guard', event: 'invoke', requestId: 'r-1', function: 'orders', rxBytes: 1, txBytes: 1 },
      {
        source: '-',
        line: 12,
      },
    );
    agg.finish();
    const d = [...agg.destinations.values()];
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({
      count: 48_211,
      byEvent: { connect: 48_211 },
      logged: { deny: 48_211, blocked: 48_211 },
    });
    expect(d[0]?.rules.get('default')).toBe(48_211);
    expect(d[0]?.functions.get('orders')).toBe(48_211);
    expect(agg.stats.netEvents).toBe(48_211);
  });

  it('a suppressed that is not a positive integer is a bad line', () => {
    for (const bad of [0, -3, 1.5, '12', null]) {
      const agg = new Aggregator();
      agg.record(line({ suppressed: bad }), { source: '-', line: 1 });
      expect(agg.destinations.size, String(bad)).toBe(0);
      expect(agg.stats.bad.get('E_SUGGEST_BAD_FIELDS')?.count, String(bad)).toBe(1);
    }
  });
});
