// What a budget trip does to the sockets of a running function, interposer side (budget.c): every egress socket of
// the process is cut — in flight or idle — so the program sees a normal socket error and the peer a reset; sockets
// the runtime needs (loopback, the Runtime API, X-Ray) keep working and are not counted; a trip made elsewhere (the
// agent's /proc/net/dev sampler, another guarded process) is acted on at this process's next call on an egress
// socket; audit mode only counts; and the next invoke starts clean. The state file is driven as the agent drives it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { arm, readState, tripAsAgent } from './state.js';
import { CLIENTS, createWorld, KiB, MiB, PEER_IP, type World, XRAY } from './world.js';

const ok = needNetns() && needCommand('python3');

describe.skipIf(!ok)('a budget trip cuts the egress sockets and only those', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld('egbc');
  });
  afterAll(() => w?.destroy());

  it('cuts the in-flight, the idle and the tripping socket; loopback and X-Ray are untouched and uncounted', async () => {
    const s = w.startScenario();
    arm(s.state, { rxBytes: MiB });
    expect(await s.ask({ op: 'open', name: 'inflight', url: `${w.witness}/bytes/${5 * MiB}` })).toEqual({
      error: null,
    });
    expect(await s.ask({ op: 'read', name: 'inflight', n: 10 * KiB })).toEqual({ got: 10 * KiB, error: null });
    expect(await s.ask({ op: 'open', name: 'idle', url: `${w.witness}/bytes/1000` })).toEqual({ error: null });
    expect(await s.ask({ op: 'loopback', n: 256 * KiB })).toEqual({ echoed: 256 * KiB, error: null });
    const big = await s.ask({ op: 'download', url: `${w.witness}/bytes/${5 * MiB}` });
    expect(big.error).toMatchObject({ errno: 'ECONNRESET' });
    expect(big.bytes).toBeLessThan(MiB);
    // the other two egress sockets were cut at the trip: their next call fails like a reset connection
    expect((await s.ask({ op: 'read', name: 'inflight', n: 100 })).error).toMatchObject({ errno: 'ECONNRESET' });
    expect((await s.ask({ op: 'read', name: 'idle', n: 100 })).error).toMatchObject({ errno: 'ECONNRESET' });
    // what the runtime needs still works
    expect(await s.ask({ op: 'loopback', n: 256 * KiB })).toEqual({ echoed: 256 * KiB, error: null });
    expect(await s.ask({ op: 'udp', ...XRAY, n: 512 })).toEqual({ sent: 512, error: null });
    // and no new egress connection is made during this invoke
    expect((await s.ask({ op: 'connect', host: PEER_IP, port: 9 })).error).toMatchObject({ errno: 'EACCES' });
    await s.close();
    const st = readState(s.state);
    expect(st).toMatchObject({ tripBudget: 1, tripGen: 1, nCut: 3n });
    expect(st.ioRx).toBe(BigInt(MiB + 1)); // loopback and X-Ray bytes are not egress
    const cuts = s.logs().filter((l) => l.event === 'cut');
    expect(cuts).toEqual([expect.objectContaining({ budget: 'rxBytes', sockets: 3, level: 50 })]);
    // the peer saw every one of them end with a reset, none with a clean close
    const ends = await Promise.all([0, 1, 2].map(() => w.nextWitness('download')));
    expect(ends.map((e) => e.error)).toEqual(Array(3).fill('Connection reset by peer'));
  });

  it("a trip by the agent's sampler is acted on at the next call on an egress socket", async () => {
    const s = w.startScenario();
    arm(s.state, { rxBytes: 100 * MiB });
    await s.ask({ op: 'open', name: 'a', url: `${w.witness}/bytes/${5 * MiB}` });
    expect(await s.ask({ op: 'read', name: 'a', n: 64 * KiB })).toEqual({ got: 64 * KiB, error: null });
    tripAsAgent(s.state, 1);
    expect((await s.ask({ op: 'read', name: 'a', n: 64 * KiB })).error).toMatchObject({ errno: 'ECONNRESET' });
    expect((await s.ask({ op: 'connect', host: PEER_IP, port: 9 })).error).toMatchObject({ errno: 'EACCES' });
    await s.close();
    expect(s.logs().filter((l) => l.event === 'cut')).toEqual([
      expect.objectContaining({ budget: 'rxBytes', sockets: 1, call: 'recv' }),
    ]);
    expect((await w.nextWitness('download')).error).toBe('Connection reset by peer');
  });

  it('a trip in another guarded process cuts this one at its next call', async () => {
    const s = w.startScenario();
    arm(s.state, { rxBytes: MiB });
    await s.ask({ op: 'open', name: 'a', url: `${w.witness}/bytes/${5 * MiB}` });
    expect(await s.ask({ op: 'read', name: 'a', n: 16 * KiB })).toEqual({ got: 16 * KiB, error: null });
    const child = await s.ask({
      op: 'child',
      args: [`${CLIENTS}/transfer.py`, 'urllib-download', `${w.witness}/bytes/${5 * MiB}`],
    });
    expect(JSON.parse(child.stdout)).toMatchObject({ ok: false });
    expect((await s.ask({ op: 'read', name: 'a', n: 64 * KiB })).error).toMatchObject({ errno: 'ECONNRESET' });
    await s.close();
    const cuts = s.logs().filter((l) => l.event === 'cut');
    expect(cuts).toHaveLength(2);
    expect(new Set(cuts.map((l) => l.pid)).size).toBe(2);
    expect(readState(s.state)).toMatchObject({ tripGen: 1, tripBudget: 1 });
  });

  it('audit mode counts and lets the transfer complete', async () => {
    const s = w.startScenario({ mode: 'audit' });
    arm(s.state, { rxBytes: MiB });
    expect(await s.ask({ op: 'download', url: `${w.witness}/bytes/${5 * MiB}` })).toEqual({
      bytes: 5 * MiB,
      error: null,
    });
    await s.close();
    const st = readState(s.state);
    expect(st).toMatchObject({ tripGen: 0, tripBudget: 0, nCut: 0n });
    expect(st.ioRx).toBeGreaterThanOrEqual(BigInt(5 * MiB));
    expect(s.logs().filter((l) => l.event === 'cut')).toEqual([]);
  });

  it('the next invoke starts clean: no tail of the cut transfer, its own traffic works', async () => {
    const s = w.startScenario();
    arm(s.state, { rxBytes: MiB });
    expect((await s.ask({ op: 'download', url: `${w.witness}/bytes/${5 * MiB}` })).error).toMatchObject({
      errno: 'ECONNRESET',
    });
    arm(s.state, { rxBytes: MiB }); // the agent at the start of the next invoke: flags, trip_budget, thresholds
    const before = await s.ask({ op: 'netdev' });
    expect(await s.ask({ op: 'download', url: `${w.witness}/bytes/${100 * KiB}` })).toEqual({
      bytes: 100 * KiB,
      error: null,
    });
    const after = await s.ask({ op: 'netdev' });
    await s.close();
    expect(after.rx - before.rx).toBeGreaterThanOrEqual(100 * KiB);
    expect(after.rx - before.rx).toBeLessThanOrEqual(1.15 * 100 * KiB + 4 * KiB);
    expect(s.logs().filter((l) => l.event === 'cut')).toHaveLength(1);
  });
});
