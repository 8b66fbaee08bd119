// Attempts to carry an upload past its budget, written as a compromised dependency would write them (plain Python,
// no native code of its own, test/budgets/clients/attack.py): each pushes 5 MiB at the peer with a 1 MiB budget.
// The peer is the witness: it must never receive the whole request, nor more than 2 MiB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { CLIENTS, createWorld, KiB, MiB, PEER_IP, type World } from './world.js';

const ok = needNetns() && needCommand('python3');
const BOUND = 2 * MiB;

describe.skipIf(!ok)('attempts to exceed an upload budget', () => {
  let w: World;
  let port = '';
  beforeAll(async () => {
    w = await createWorld('egba');
    port = w.witness.split(':').pop() as string;
  });
  afterAll(() => w?.destroy());

  it.each(['dup2', 'dup', 'reconnect', 'sendto-lo', 'syscall', 'sendfile', 'sendmsg', 'scm', 'exec', 'spawn'])(
    '%s: stopped within 2 MiB',
    async (kase) => {
      const r = await w.runGuarded('python3', [`${CLIENTS}/attack.py`, kase, PEER_IP, port], {
        budgets: { txBytes: MiB },
      });
      const seen = await w.nextWitness('upload');
      expect(r.result, r.stderr).toMatchObject({ error: expect.any(String) });
      expect(seen.complete).toBe(false);
      expect(seen.received).toBeLessThanOrEqual(BOUND);
      expect(r.wire.tx).toBeLessThanOrEqual(BOUND);
      expect(r.state.tripBudget).toBe(2);
    },
  );

  it('threads: eight connections sending at the same moment share one budget', async () => {
    const r = await w.runGuarded('python3', [`${CLIENTS}/attack.py`, 'threads', PEER_IP, port], {
      budgets: { txBytes: MiB },
    });
    const connected = r.result?.connected ?? 0;
    expect(connected).toBeGreaterThan(0);
    const seen = await Promise.all(Array.from({ length: connected }, () => w.nextWitness('upload')));
    const received = seen.reduce((a, e) => a + (e.received ?? 0), 0);
    expect(seen.filter((e) => e.complete)).toEqual([]);
    // threads of one process share what is left (budget.c's in-flight claims): the budget, not one budget per thread
    // (without the claims, 2,084,911 bytes got through in one run); the slack is HTTP heads and one-byte grants
    expect(received).toBeLessThanOrEqual(MiB + 64 * KiB);
    expect(Number(r.state.ioTx)).toBeLessThanOrEqual(MiB + 64 * KiB);
    expect(r.wire.tx).toBeLessThanOrEqual(BOUND);
    console.log(`threads: ${received} bytes reached the peer over ${connected} connections (budget ${MiB})`);
  });

  it('udp: datagrams to the peer stop one datagram past the budget, then are refused', async () => {
    const r = await w.runGuarded('python3', [`${CLIENTS}/attack.py`, 'udp', PEER_IP, port], {
      budgets: { txBytes: MiB },
    });
    expect(r.result, r.stderr).toMatchObject({ error: 'Permission denied' });
    expect(r.result?.sent).toBeLessThanOrEqual(MiB + 60_000);
    expect(Number(r.state.ioTx)).toBeLessThanOrEqual(MiB + 60_000);
    expect(r.wire.tx).toBeLessThanOrEqual(1.05 * (MiB + 60_000));
    expect(r.state.tripBudget).toBe(2);
  });

  it('RESIDUAL procs: four processes crossing at once stay within four times what was left', async () => {
    const r = await w.runGuarded('python3', [`${CLIENTS}/attack.py`, 'procs', PEER_IP, port], {
      budgets: { txBytes: MiB },
    });
    const connected = r.result?.connected ?? 0;
    const seen = await Promise.all(Array.from({ length: connected }, () => w.nextWitness('upload')));
    const received = seen.reduce((a, e) => a + (e.received ?? 0), 0);
    expect(seen.filter((e) => e.complete)).toEqual([]);
    expect(received).toBeLessThanOrEqual(4 * (MiB + 1));
    console.log(`procs: ${received} bytes reached the peer over ${connected} connections from 4 processes`);
  });

  // Residual gaps (docs/METERING.md "What budgets cannot stop"): the hooks never see these bytes. The agent's
  // /proc/net/dev sampler still trips the invoke and the next call on an egress socket cuts it; these tests run without
  // the agent to show what the hooks alone do, and will fail (and the docs must change) the day that changes.
  it.each(['libc', 'state'])('RESIDUAL %s: the hooks alone do not stop it', async (kase) => {
    const r = await w.runGuarded('python3', [`${CLIENTS}/attack.py`, kase, PEER_IP, port], {
      budgets: { txBytes: MiB },
    });
    const seen = await w.nextWitness('upload');
    expect(r.result, r.stderr).toMatchObject({ sent: 5 * MiB, error: null });
    expect(seen).toMatchObject({ received: 5 * MiB, complete: true });
    expect(r.state.tripGen).toBe(0);
  });
});
