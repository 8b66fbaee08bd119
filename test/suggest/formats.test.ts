/**
 * Every input form `suggest` reads (policy/suggest/records.ts) gives the same destinations, and everything else is
 * skipped: function logs silently, damaged guard lines counted by code on stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, invokeLine, netLine, ruleHeads, suggest } from './helpers.js';

const REQ = '6f1c9b52-3f0e-4c1a-9d4e-8a2b7c6d5e4f';
const A = connect('api.example.com', '192.0.2.10', 443, { requestId: REQ });
const B = netLine({ event: 'dns', host: 'db.example.net', requestId: REQ });
const C = connect(undefined, '2001:db8::7', 8443, { requestId: REQ });
const INV = invokeLine('orders', REQ, 1000, 200);
const EXPECTED = ['host: db.example.net', 'host: api.example.com', 'ip: "2001:db8::7"'];

function sorted(xs: string[]): string[] {
  return [...xs].sort();
}

async function heads(stdin: string | Array<string | Buffer>, args: string[] = []): Promise<string[]> {
  const r = await suggest(args, { stdin });
  expect(r.code, r.stderr).toBe(0);
  return sorted(ruleHeads(r.stdout));
}

const dir = mkdtempSync(join(tmpdir(), 'suggest-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('input forms', () => {
  it('plain lines mixed with function logs, START/END/REPORT and EMF', async () => {
    const text = [
      `START RequestId: ${REQ} Version: $LATEST`,
      A,
      '2026-11-27T12:00:00.000Z\t6f1c9b52-3f0e-4c1a-9d4e-8a2b7c6d5e4f\tINFO\t{"user":"x","braces":"{"}',
      B,
      '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"FunctionName":"orders","RxBytes":1}',
      C,
      INV,
      `REPORT RequestId: ${REQ}\tDuration: 1.00 ms`,
    ].join('\n');
    expect(await heads(text)).toEqual(sorted(EXPECTED));
    const r = await suggest([], { stdin: text });
    expect(r.stdout).toContain('by orders (1)');
    expect(r.stderr).toContain('0 bad lines');
  });

  it("Lambda's text format prefix (time, request id, level) — the request id ties events to the function", async () => {
    const strip = (l: string) => l.replace(`,"requestId":"${REQ}"`, '');
    const text = [A, B, C]
      .map((l) => `2026-11-27T12:00:00.123Z\t${REQ}\tINFO\t${strip(l)}`)
      .concat(INV)
      .join('\n');
    const r = await suggest([], { stdin: text });
    expect(sorted(ruleHeads(r.stdout))).toEqual(sorted(EXPECTED));
    expect(r.stdout).toContain('by orders (');
    expect(r.stdout).not.toContain('(unknown)');
  });

  it('aws logs filter-log-events output (pretty JSON document), and the same squeezed onto one line', async () => {
    const events = [A, B, C, INV].map((m, i) => ({
      logStreamName: '2026/11/27/[$LATEST]0123abcd',
      timestamp: 1764244800000 + i,
      message: `${m}\n`,
      ingestionTime: 1764244800500,
      eventId: `3${i}`,
    }));
    const doc = { events, searchedLogStreams: [] };
    expect(await heads(JSON.stringify(doc, null, 4))).toEqual(sorted(EXPECTED));
    expect(await heads(JSON.stringify(doc))).toEqual(sorted(EXPECTED));
    // `jq '.events'`: a pretty array; `jq -c '.events[]'`: one event per line; `aws logs tail --format none` alike
    expect(await heads(JSON.stringify(events, null, 2))).toEqual(sorted(EXPECTED));
    expect(await heads(events.map((e) => JSON.stringify(e)).join('\n'))).toEqual(sorted(EXPECTED));
  });

  it('an export larger than the 1 MiB object cap is read event by event, none lost', async () => {
    const events = [];
    for (let i = 0; i < 6000; i++) {
      const m =
        i % 3 === 0
          ? connect(`h${i % 40}.example.com`, '192.0.2.1', 443)
          : `START RequestId: ${REQ} ${'x'.repeat(300)}`;
      events.push({ logStreamName: '2026/11/27/[$LATEST]0123abcd', timestamp: i, message: `${m}\n`, eventId: `${i}` });
    }
    const doc = JSON.stringify({ events }, null, 4);
    expect(doc.length).toBeGreaterThan(2 << 20);
    const r = await suggest([], { stdin: doc });
    expect(r.stderr).toContain('2,000 network events');
    expect(r.stderr).toContain('4,000 other lines or events skipped');
    expect(r.stderr).toContain('0 bad lines');
  });

  it('counts each event of a pretty export once', async () => {
    const events = [A, A, A].map((m, i) => ({ logStreamName: 's', timestamp: i, message: m, eventId: `${i}` }));
    const r = await suggest([], { stdin: JSON.stringify({ events }, null, 4) });
    expect(r.stdout).toContain('seen 3 times (connect 3)');
  });

  it('aws logs tail --format json (header line, then the message pretty-printed) and --format detailed/short', async () => {
    const stream = '2026/11/27/[$LATEST]0123abcd';
    const ts = '2026-11-27T12:00:00.123000+00:00';
    const json = [A, B, C, INV].map((m) => `${ts} ${stream} \n${JSON.stringify(JSON.parse(m), null, 4)}`).join('\n');
    const withLogs = `${ts} ${stream} START RequestId: ${REQ} Version: $LATEST\n${json}\n${ts} ${stream} END RequestId: ${REQ}`;
    expect(await heads(withLogs)).toEqual(sorted(EXPECTED));
    const detailed = [A, B, C, INV].map((m) => `${ts} ${stream} ${m}`).join('\n');
    expect(await heads(detailed)).toEqual(sorted(EXPECTED));
    const short = [A, B, C].map((m) => `2026-11-27T12:00:00 ${m}`).join('\n');
    expect(await heads(short)).toEqual(sorted(EXPECTED));
  });

  it("Lambda's JSON log format wrapping our line as a string or an object", async () => {
    const wrap = (m: string) =>
      JSON.stringify({ timestamp: '2026-11-27T12:00:00Z', level: 'INFO', requestId: REQ, message: m });
    const wrapObj = (m: string) =>
      JSON.stringify({ time: '2026-11-27T12:00:00Z', requestId: REQ, message: JSON.parse(m) });
    expect(await heads([wrap(A), wrapObj(B), wrap(C)].join('\n'))).toEqual(sorted(EXPECTED));
  });

  it('files, several at once, gzip, stdin as -, CRLF line ends, and 1-byte chunks', async () => {
    const f1 = join(dir, 'a.log');
    const f2 = join(dir, 'b.log.gz');
    writeFileSync(f1, `${A}\r\n${B}\r\n`);
    writeFileSync(f2, gzipSync(`${C}\n`));
    const r = await suggest([f1, f2]);
    expect(sorted(ruleHeads(r.stdout))).toEqual(sorted(EXPECTED));
    const withStdin = await suggest([f1, '-'], { stdin: C });
    expect(sorted(ruleHeads(withStdin.stdout))).toEqual(sorted(EXPECTED));
    const text = [A, B, C].join('\n');
    expect(await heads([...Buffer.from(text)].map((b) => Buffer.from([b])))).toEqual(sorted(EXPECTED));
  });

  it('a stray "{" in the function logs does not swallow the guard lines after it', async () => {
    const text = ['{', 'not json at all', A, '{', '  "half": "a pretty object that never ends",', B, C].join('\n');
    expect(await heads(text)).toEqual(sorted(EXPECTED));
  });

  it('non-ASCII names are punycoded, trailing dots and case removed', async () => {
    const text = [
      netLine({ event: 'dns', host: 'Bücher.Example.' }),
      connect('API.Example.COM.', '192.0.2.1', 443),
    ].join('\n');
    expect(await heads(text)).toEqual(sorted(['host: xn--bcher-kva.example', 'host: api.example.com']));
  });
});

describe('bad input', () => {
  it('skips damaged guard lines, counts them by code on stderr with their first locations', async () => {
    const lines = [
      A,
      '{"level":30,"time":1,"pid":8,"name":"egress-guard","msg":"allow conn', // truncated
      netLine({ event: 'connect', host: 'x.example.com', port: 443 }), // connect without ip
      netLine({ event: 'connect', ip: 'not-an-ip', port: 443 }),
      netLine({ event: 'connect', ip: '192.0.2.1', port: 70000 }),
      netLine({ event: 'dns', host: 'bad host name!' }),
      netLine({ event: 'dns', host: 'ok.example.com', decision: 'maybe' }),
      '{"name":"egress-guard","event":"invoke","rxBytes":-1,"txBytes":0}',
      `{"level":30,"name":"egress-guard","event":"connect","ip":"192.0.2.1","port":443,"decision":"allow",${'"pad":"x",'.repeat(120_000)}"x":1}`,
      'a function line that mentions egress-guard but is not ours',
      B,
    ];
    const r = await suggest([], { stdin: lines.join('\n') });
    expect(r.code).toBe(0);
    expect(sorted(ruleHeads(r.stdout))).toEqual(sorted(['host: api.example.com', 'host: db.example.net']));
    expect(r.stderr).toContain('8 bad lines skipped');
    expect(r.stderr).toMatch(/E_SUGGEST_BAD_JSON: 1 \(first at -:2\)/);
    expect(r.stderr).toMatch(/E_SUGGEST_BAD_FIELDS: 6 \(first at -:3, -:4, -:5, -:6, -:7\)/);
    expect(r.stderr).toMatch(/E_SUGGEST_LINE_TOO_LONG: 1 \(first at -:9\)/);
    expect(r.stdout).toContain('8 bad lines.');
  });

  it('an unterminated pretty block that carried our marker is counted', async () => {
    const r = await suggest([], { stdin: `{\n    "name": "egress-guard",\n    "event": "connect",\n` });
    expect(r.stderr).toMatch(/E_SUGGEST_BAD_BLOCK: 1/);
  });

  it('an empty input gives a valid policy that allows nothing', async () => {
    const r = await suggest([], { stdin: '' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('allow: []');
  });
});
