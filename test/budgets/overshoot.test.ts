// The overshoot bound of byte budgets, end to end: with a 1 MiB budget, one fast 5 MiB upload and one fast 5 MiB
// download over a veth pair (GB/s, far faster than Lambda's network) let at most 2 MiB reach the peer / the
// function, for every client below, in enforce mode. The peer is the witness: it counts the upload bytes that arrived
// and whether the request completed, and the download bytes the function's kernel acknowledged; the function
// namespace's /proc/net/dev counts what crossed its interface. An over-budget S3 upload must not be stored.
// The state file is armed as the agent arms it at invoke start (docs/STATE.md), so this is the interposer's part alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns } from '../support/capability.js';
import { clientCommand, createWorld, hasPythonModule, MiB, type World } from './world.js';

const ok =
  needNetns() &&
  needCommand('python3') &&
  need(
    'boto3 and moto',
    hasPythonModule('boto3') && hasPythonModule('moto.server'),
    'pip install boto3 "moto[server]"',
  );

const BOUND = 2 * MiB;
const FIVE = 5 * MiB;

interface Figure {
  client: string;
  direction: 'upload' | 'download';
  app: number;
  peer: number;
  wire: number;
}
const figures: Figure[] = [];

describe.skipIf(!ok)('a 1 MiB budget stops a fast 5 MiB transfer within 2 MiB', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld('egbo', { s3: true });
  });
  afterAll(() => {
    w?.destroy();
    if (figures.length) console.log(`overshoot figures (bytes):\n${figures.map((f) => JSON.stringify(f)).join('\n')}`);
  });

  const downloads: ['node' | 'python', string][] = [
    ['node', 'fetch-download'],
    ['node', 'http-download'],
    ['python', 'urllib-download'],
    ['python', 'httpclient-download'],
    ['python', 'requests-download'],
  ];
  it.each(downloads)('%s %s: the function receives at most 2 MiB, the transfer fails', async (lang, kase) => {
    const [cmd, args] = clientCommand(lang, kase, `${w.witness}/bytes/${FIVE}`);
    const r = await w.runGuarded(cmd, args, { budgets: { rxBytes: MiB } });
    const seen = await w.nextWitness('download');
    expect(r.result, r.stderr).toMatchObject({ ok: false });
    expect(r.result?.bytes).toBeLessThanOrEqual(MiB + 1);
    expect(seen.acked).toBeGreaterThan(MiB);
    expect(seen.acked).toBeLessThanOrEqual(BOUND);
    expect(r.wire.rx).toBeLessThanOrEqual(BOUND);
    expect(r.state).toMatchObject({ tripBudget: 1, tripGen: 1 });
    expect(r.state.ioRx).toBe(BigInt(MiB + 1));
    expect(r.logs.filter((l) => l.event === 'cut')).toEqual([
      expect.objectContaining({ budget: 'rxBytes', sockets: 1, level: 50, mode: 'enforce' }),
    ]);
    figures.push({
      client: `${lang} ${kase}`,
      direction: 'download',
      app: Number(r.state.ioRx),
      peer: seen.acked ?? -1,
      wire: r.wire.rx,
    });
  });

  const uploads: ['node' | 'python', string][] = [
    ['node', 'fetch-upload'],
    ['node', 'http-upload'],
    ['python', 'urllib-upload'],
    ['python', 'httpclient-upload'],
    ['python', 'requests-upload'],
  ];
  it.each(uploads)('%s %s: the peer receives at most 2 MiB and never the whole request', async (lang, kase) => {
    const [cmd, args] = clientCommand(lang, kase, `${w.witness}/upload`, FIVE);
    const r = await w.runGuarded(cmd, args, { budgets: { txBytes: MiB } });
    const seen = await w.nextWitness('upload');
    expect(r.result, r.stderr).toMatchObject({ ok: false });
    expect(seen.complete).toBe(false);
    expect(seen.received).toBeGreaterThan(0);
    expect(seen.received).toBeLessThanOrEqual(BOUND);
    expect(r.wire.tx).toBeLessThanOrEqual(BOUND);
    expect(r.state).toMatchObject({ tripBudget: 2, tripGen: 1 });
    expect(r.logs.filter((l) => l.event === 'cut')).toEqual([
      expect.objectContaining({ budget: 'txBytes', level: 50 }),
    ]);
    figures.push({
      client: `${lang} ${kase}`,
      direction: 'upload',
      app: Number(r.state.ioTx),
      peer: seen.received ?? -1,
      wire: r.wire.tx,
    });
  });

  it.each([
    ['node', 's3-upload', 'node-object'],
    ['python', 'boto3-upload', 'python-object'],
  ] as const)('%s %s (AWS SDK, S3 emulator): the object is not stored', async (lang, kase, key) => {
    const [cmd, args] = clientCommand(lang, kase, w.s3 as string, FIVE);
    const r = await w.runGuarded(cmd, args, { budgets: { txBytes: MiB } });
    expect(r.result, r.stderr).toMatchObject({ ok: false });
    expect(w.s3Objects()).not.toContain(key);
    expect(r.wire.tx).toBeLessThanOrEqual(BOUND);
    expect(r.state).toMatchObject({ tripBudget: 2 });
    figures.push({
      client: `${lang} ${kase}`,
      direction: 'upload',
      app: Number(r.state.ioTx),
      peer: -1,
      wire: r.wire.tx,
    });
  });
});
