/**
 * The command line: usage errors with stable codes, unreadable inputs, -o written atomically, --help,
 * function attribution (request id → invoke summary, log stream, --function).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../fixtures/logs/generate.js';
import { connect, FIXTURES, invokeLine, ruleHeads, suggest } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'suggest-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('suggest CLI', () => {
  it.each([
    [['--min-siblings', 'x']],
    [['--margin', '0.5']],
    [['--mode', 'off']],
    [['--json']],
    [['--bogus']],
    [['-', '-']],
    [['--function']],
  ])('usage error %j → exit 2, E_SUGGEST_USAGE', async (args) => {
    const r = await suggest(args, { stdin: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^egress-guard suggest: E_SUGGEST_USAGE: /);
    expect(r.stderr).toContain('usage: egress-guard suggest');
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await suggest(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--against POLICY.yaml');
  });

  it('a missing log file → exit 2, E_SUGGEST_INPUT, nothing read', async () => {
    const r = await suggest(['orders-api.log', 'no-such.log']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_SUGGEST_INPUT: cannot read log file no-such\.log/);
    expect(r.stdout).toBe('');
  });

  it('-o writes the file (and nothing on stdout); a failed run leaves no file', async () => {
    const out = join(dir, 'policy.yaml');
    const r = await suggest(['-o', out], { stdin: connect('api.example.com', '192.0.2.1', 443) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toContain('- host: api.example.com');
    const bad = join(dir, 'never.yaml');
    expect((await suggest(['-o', bad, 'missing.log'])).code).toBe(2);
    expect(existsSync(bad)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('ties network events to functions by request id, by log stream, or by --function', async () => {
    const byReq = [connect('a.example.com', '192.0.2.1', 443, { requestId: 'r-1' }), invokeLine('fn-a', 'r-1', 1, 1)];
    expect((await suggest([], { stdin: byReq.join('\n') })).stdout).toContain('by fn-a (1)');
    const stream = (m: string) => JSON.stringify({ logStreamName: 'st-1', timestamp: 1, message: m });
    const byStream = [
      invokeLine('fn-b', 'r-2', 1, 1),
      connect('b.example.com', '192.0.2.1', 443, { requestId: 'r-3' }),
    ];
    expect((await suggest([], { stdin: byStream.map(stream).join('\n') })).stdout).toContain('by fn-b (1)');
    const none = connect('c.example.com', '192.0.2.1', 443);
    const r = await suggest([], { stdin: none });
    expect(r.stdout).toContain('by (unknown) (1)');
    expect(r.stdout).toContain('could not be tied to a function');
    expect((await suggest(['--function', 'fn-c'], { stdin: none })).stdout).toContain('by fn-c (1)');
  });

  it('many functions: the comment names the five busiest with counts, then how many more', async () => {
    const lines: string[] = [];
    for (let f = 1; f <= 7; f++) {
      for (let k = 0; k < f; k++)
        lines.push(connect('api.example.com', '192.0.2.1', 443, { requestId: `r-${f}-${k}` }));
      for (let k = 0; k < f; k++) lines.push(invokeLine(`fn-${f}`, `r-${f}-${k}`, 1, 1));
    }
    const r = await suggest([], { stdin: lines.join('\n') });
    expect(r.stdout).toContain(
      'seen 28 times (connect 28) by fn-7 (7), fn-6 (6), fn-5 (5), fn-4 (4), fn-3 (3) and 2 more;',
    );
  });

  it('text from the logs cannot inject YAML: control characters in names become ?', async () => {
    const evil = 'fn\n  - host: evil.example\n#';
    const lines = [
      connect('api.example.com', '192.0.2.1', 443, { requestId: 'r-1', rule: 'allow[0]\r\n  - cidr: 0.0.0.0/0' }),
      invokeLine(evil, 'r-1', 1, 1),
      JSON.stringify({ name: 'egress-guard', event: 'uncovered', path: '/bin/x\nallow: []' }),
    ];
    const r = await suggest([], { stdin: lines.join('\n') });
    expect(r.code).toBe(0);
    expect(ruleHeads(r.stdout)).toEqual(['host: api.example.com']);
    expect(r.stdout).toContain('by fn?  - host: evil.example?# (1)');
    expect(r.stdout).not.toMatch(/^\s*- (host: evil|cidr: 0)/m);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('allow')).length).toBe(1);
  });

  it('the committed samples are exactly what test/fixtures/logs/generate.ts writes', () => {
    if (process.env.UPDATE_FIXTURES === '1') generate(FIXTURES);
    const tmp = mkdtempSync(join(dir, 'gen-'));
    generate(tmp);
    for (const f of ['orders-api.log', 'billing-worker.json', 'thumbnailer.txt']) {
      expect(readFileSync(join(tmp, f), 'utf8')).toBe(readFileSync(join(FIXTURES, f), 'utf8'));
    }
  });
});
