/**
 * Budgets from invoke summaries: p99 per function (exact up to 4,096 invokes, then from a bounded histogram: never
 * below the true p99, at most 1 % above), the largest per-function p99 × margin, rounded up to a readable size;
 * concurrent invokes left out.
 */
import { describe, expect, it } from 'vitest';
import { readableSize } from '../../policy/suggest/budgets.js';
import { ByteHistogram } from '../../policy/suggest/histogram.js';
import { invokeLine, suggest } from './helpers.js';

describe('readableSize', () => {
  it.each([
    [0, '1KiB'],
    [1000, '1KiB'],
    [1025, '2KiB'],
    [2.74 * 2 ** 20, '3MiB'],
    [10 * 2 ** 20, '10MiB'],
    [12.3 * 2 ** 20, '15MiB'],
    [123.4 * 2 ** 20, '150MiB'],
    [612 * 2 ** 20, '650MiB'],
    [1.5 * 2 ** 30, '2GiB'],
  ])('%d → %s', (bytes, text) => {
    const r = readableSize(bytes);
    expect(r.text).toBe(text);
    expect(r.bytes).toBeGreaterThanOrEqual(bytes);
  });
});

describe('ByteHistogram', () => {
  it('p99 is exact up to 4,096 samples, then never below the exact p99 and at most 1 % above it', () => {
    let seed = 42;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let run = 0; run < 20; run++) {
      const h = new ByteHistogram();
      const xs: number[] = [];
      const n = 50 + Math.floor(rnd() * 20_000);
      for (let i = 0; i < n; i++) {
        const v = Math.floor(rnd() ** 3 * 50_000_000);
        xs.push(v);
        h.add(v);
      }
      xs.sort((a, b) => a - b);
      const exact = xs[Math.ceil(0.99 * n) - 1]!;
      const q = h.quantile(0.99);
      if (n <= 4096) expect(q).toBe(exact);
      expect(q).toBeGreaterThanOrEqual(exact);
      expect(q).toBeLessThanOrEqual(Math.ceil(exact * 1.01) + 1);
      expect(h.max).toBe(xs[n - 1]);
    }
  });
});

describe('budgets in the suggested policy', () => {
  it('takes the largest per-function p99, × margin, rounded up; skips concurrent invokes', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 200; i++) lines.push(invokeLine('small', `s-${i}`, i * 1024, 100));
    // p99 of 1..100 MiB is 99 MiB
    for (let i = 1; i <= 100; i++) lines.push(invokeLine('big', `b-${i}`, i * 2 ** 20, 2 ** 20));
    lines.push(invokeLine('big', 'b-concurrent', 900 * 2 ** 20, 0, { concurrent: true }));
    const r = await suggest([], { stdin: lines.join('\n') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rxBytes: 200MiB\n/); // 99 MiB × 2 = 198 MiB → 200MiB
    expect(r.stdout).toMatch(/txBytes: 2MiB\n/);
    expect(r.stdout).toMatch(/totalBytes: 200MiB\n/); // (99+1) × 2 MiB
    expect(r.stdout).toContain('1 invokes overlapped others');
    expect(r.stdout).toContain('(big, 100 invokes)');
    const m3 = await suggest(['--margin', '3'], { stdin: lines.join('\n') });
    expect(m3.stdout).toMatch(/rxBytes: 300MiB\n/);
  });

  it('no invoke summaries: no budgets section', async () => {
    const r = await suggest([], { stdin: '' });
    expect(r.stdout).not.toContain('budgets:');
  });
});
