/**
 * Memory bounds that do not depend on timing: the request-id join keeps at most MAX_PENDING waiting request ids, a
 * named destination keeps at most MAX_IPS_PER_NAME addresses, and a line without end is dropped, not buffered.
 */
import { describe, expect, it } from 'vitest';
import { Aggregator, MAX_IPS_PER_NAME, MAX_PENDING } from '../../policy/suggest/aggregate.js';
import { LineSplitter } from '../../policy/suggest/lines.js';

const ctx = { source: '-', line: 1 };

describe('bounded state', () => {
  it('waiting request ids are capped; the oldest are given up to (unknown), the newest still join', () => {
    const agg = new Aggregator();
    const n = MAX_PENDING + 5_000;
    for (let i = 0; i < n; i++) {
      agg.record(
        {
          name: 'egress-guard',
          event: 'connect',
          host: 'api.example.com',
          ip: '192.0.2.1',
          port: 443,
          decision: 'allow',
          rule: 'allow[0]',
          requestId: `r-${i}`,
        },
        ctx,
      );
    }
    expect(agg.pendingRequests).toBe(MAX_PENDING);
    agg.record(
      { name: 'egress-guard', event: 'invoke', requestId: `r-${n - 1}`, function: 'late', rxBytes: 1, txBytes: 1 },
      ctx,
    );
    agg.record(
      { name: 'egress-guard', event: 'invoke', requestId: 'r-0', function: 'evicted', rxBytes: 1, txBytes: 1 },
      ctx,
    );
    agg.finish();
    expect(agg.pendingRequests).toBe(0);
    const d = [...agg.destinations.values()];
    expect(d.length).toBe(1);
    expect(d[0]!.functions.get('late')).toBe(1);
    expect(d[0]!.functions.has('evicted')).toBe(false);
    expect(d[0]!.functions.get('(unknown)')).toBe(n - 1);
  });

  it('a name seen at many addresses keeps a bounded sample', () => {
    const agg = new Aggregator();
    for (let i = 0; i < 1000; i++) {
      agg.record(
        {
          name: 'egress-guard',
          event: 'connect',
          host: 'cdn.example.com',
          ip: `10.0.${i >> 8}.${i & 255}`,
          port: 443,
          decision: 'allow',
        },
        ctx,
      );
    }
    const d = [...agg.destinations.values()];
    expect(d.length).toBe(1);
    expect(d[0]!.ips!.length).toBe(MAX_IPS_PER_NAME);
    expect(d[0]!.count).toBe(1000);
  });

  it('a line that never ends is dropped once over the cap, and the next line is delivered', () => {
    const got: string[] = [];
    const long: number[] = [];
    const s = new LineSplitter(
      { line: (b, st, e) => got.push(b.toString('utf8', st, e)), tooLong: (n) => long.push(n) },
      Buffer.alloc(0),
      1024,
    );
    for (let i = 0; i < 100; i++) s.push(Buffer.alloc(4096, 97));
    s.push(Buffer.from('\nok\r\nlast'));
    s.end();
    expect(long).toEqual([1]);
    expect(got).toEqual(['ok', 'last']);
  });
});
