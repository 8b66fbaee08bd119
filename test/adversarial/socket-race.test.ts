/**
 * A destination or a DNS question changed by another process between the decision and the system call: the guard
 * decides on a private copy and hands the kernel that copy (docs/INTERPOSER.md "Argument shapes", "Raw DNS").
 * Attacker: programs/socket_race.py — plain Python; a forked helper flips bytes in shared memory on the other core
 * while the parent calls sendto/sendmsg/connect/send with pointers into it: at least 3,000 calls, until both values
 * were seen 50 times each (at most 60,000).
 * Passing = the witness saw none of the denied values, both values were really seen by the guard (some calls
 * allowed, some refused: the race was on), and every refusal is a guard line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED, DENIED, ECHO, NAMESERVER, needSocketArena, QUIET, SINK, SocketArena } from './socket-arena.js';

const ok = needSocketArena();
const ITERATIONS = 3000;

/** Refusals the lines stand for: a rate-limit summary line counts as its `suppressed` (docs/LOGGING.md "Rate limit"). */
function occurrences(lines: readonly Record<string, unknown>[]): number {
  return lines.reduce((a, l) => a + (typeof l.suppressed === 'number' ? l.suppressed : 1), 0);
}

describe.skipIf(!ok)('racing attacker: the kernel gets the bytes that were decided', () => {
  let arena: SocketArena;
  beforeAll(async () => {
    arena = await SocketArena.create('egrace');
  });
  afterAll(() => arena?.destroy());

  async function race(mode: string) {
    const r = await arena.run(
      [
        'socket_race.py',
        mode,
        mode,
        ALLOWED,
        QUIET,
        DENIED,
        NAMESERVER,
        String(SINK),
        String(ECHO),
        String(ITERATIONS),
      ],
      { timeoutMs: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    await arena.settled(mode);
    const counts = r.results.find((x) => x.mode === mode) as {
      calls: number;
      ok: number;
      refused: number;
      other: number;
    };
    return { r, counts };
  }

  for (const [mode, event] of [
    ['sendto-addr', 'sendto'],
    ['sendmsg-name', 'sendto'],
    ['connect-addr', 'connect'],
  ] as const) {
    it(`${mode}: the denied address never reaches the wire`, async () => {
      const { r, counts } = await race(mode);
      expect(arena.udpAt(DENIED).filter((p) => p === `race:${mode}`)).toEqual([]);
      if (mode === 'connect-addr') expect(arena.echoAt(DENIED)).toBe(0);
      expect(counts.other).toBe(0);
      expect(counts.ok).toBeGreaterThan(0);
      expect(counts.refused).toBeGreaterThan(0);
      expect(counts.ok + counts.refused).toBe(counts.calls);
      const refusals = r.logs.filter((l) => l.event === event && l.ip === DENIED && l.blocked === true);
      expect(occurrences(refusals)).toBe(counts.refused); // repeats rate-limited: summary lines carry the rest
    }, 180_000);
  }

  it('dns-bytes: a question flipped to a denied name never reaches the nameserver', async () => {
    const { r, counts } = await race('dns-bytes');
    // only the two whole names can arrive; a question caught half-flipped is some other (denied) name
    expect(arena.dnsNames().filter((n) => n !== 'allowed.test')).toEqual([]);
    expect(arena.dnsNames()).toContain('allowed.test');
    expect(counts.other).toBe(0);
    expect(counts.ok).toBeGreaterThan(0);
    expect(counts.refused).toBeGreaterThan(0);
    const refusals = r.logs.filter((l) => l.event === 'dns' && l.blocked === true);
    expect(occurrences(refusals)).toBe(counts.refused);
    expect(refusals.filter((l) => l.host === 'allowed.test')).toEqual([]);
  }, 180_000);
});
