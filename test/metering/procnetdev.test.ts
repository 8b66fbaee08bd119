// The /proc/net/dev parser and byte arithmetic, on real-format fixtures (test/fixtures/procnetdev/, written with the
// kernel's own format string) and on this machine's live file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetDevReader } from '../../layer/node/counter.js';
import {
  deltaBytes,
  interfaceFilter,
  ProcNetDevError,
  parseProcNetDev,
  totalBytes,
} from '../../layer/node/procnetdev.js';

const fx = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/procnetdev', `${name}.txt`), 'utf8');
const parse = (name: string) => parseProcNetDev(fx(name)).interfaces;
const all = interfaceFilter();

describe('parseProcNetDev', () => {
  it('reads every interface with Lambda-like names, in file order', () => {
    const p = parseProcNetDev(fx('lambda-start'));
    expect(p.malformed).toEqual([]);
    expect(p.interfaces.map((i) => i.name)).toEqual([
      'lo',
      'vinternal_1',
      'vint_runtime',
      'vtarget_1',
      'telemetry1_sb',
    ]);
    expect(p.interfaces[1]).toEqual({
      name: 'vinternal_1',
      rxBytes: 1203331n,
      rxPackets: 2211n,
      txBytes: 88410n,
      txPackets: 990n,
    });
  });

  it('reads 15-character names glued to wide counters and u64 maxima exactly', () => {
    const i = parse('long-names');
    expect(i.map((x) => x.name)).toEqual(['lo', 'abcdefghijklmno', 'veth-long_name1']);
    expect(i[1]?.rxBytes).toBe(123456789012345n);
    expect(i[1]?.txBytes).toBe(98765432109876n);
    expect(i[2]?.rxBytes).toBe(18446744073709551615n);
    expect(i[2]?.txBytes).toBe(18446744073709551614n);
  });

  it('reports malformed lines by number and keeps the good ones', () => {
    const p = parseProcNetDev(fx('malformed'));
    expect(p.interfaces.map((i) => i.name)).toEqual(['lo', 'eth1']);
    expect(p.malformed).toEqual([4, 6, 7, 8]);
  });

  it('refuses text that is not /proc/net/dev with a code', () => {
    let err: unknown;
    try {
      parseProcNetDev('eth0: 1 2 3\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProcNetDevError);
    expect((err as ProcNetDevError).code).toBe('E_PROCNETDEV_FORMAT');
  });
});

describe('interfaceFilter', () => {
  it('counts everything but lo by default, whatever the names', () => {
    expect(['lo', 'vinternal_1', 'telemetry1_sb', 'eth0', 'anything'].filter(all)).toEqual([
      'vinternal_1',
      'telemetry1_sb',
      'eth0',
      'anything',
    ]);
  });
  it('applies include globs, and exclude always wins', () => {
    const f = interfaceFilter({ include: ['v*', 'eth0'], exclude: ['lo', 'vint_runtime'] });
    expect(['lo', 'vinternal_1', 'vint_runtime', 'vtarget_1', 'eth0', 'eth1'].filter(f)).toEqual([
      'vinternal_1',
      'vtarget_1',
      'eth0',
    ]);
  });
});

describe('deltaBytes', () => {
  it('sums the deltas of all interfaces but lo', () => {
    const d = deltaBytes(parse('lambda-start'), parse('lambda-end'), all);
    expect(d).toEqual({
      rxBytes: 1048576n + 4321n + 100n,
      txBytes: 23456n + 200n + 512n,
      reset: [],
      appeared: [],
      vanished: [],
    });
  });

  it('keeps precision above 2^53', () => {
    const d = deltaBytes(parse('huge-start'), parse('huge-end'), all);
    expect(d.rxBytes).toBe(3n);
    expect(d.txBytes).toBe(1001n);
    expect(totalBytes(parse('huge-end'), all).txBytes).toBe(18446744073709551001n);
  });

  it('detects a counter reset and counts what the interface carried since', () => {
    const d = deltaBytes(parse('reset-start'), parse('reset-end'), all);
    expect(d.reset).toEqual(['eth1']);
    expect(d.rxBytes).toBe(100n + 300n);
    expect(d.txBytes).toBe(200n + 400n);
  });

  it('reports vanished and appeared interfaces', () => {
    const d = deltaBytes(parse('missing-start'), parse('missing-end'), all);
    expect(d.vanished).toEqual(['eth1']);
    expect(d.appeared).toEqual(['eth2']);
    expect(d.rxBytes).toBe(500n + 70n);
    expect(d.txBytes).toBe(600n + 80n);
  });

  it('ignores excluded interfaces entirely (no reset or vanish noise)', () => {
    const f = interfaceFilter({ exclude: ['lo', 'eth1'] });
    const d = deltaBytes(parse('reset-start'), parse('reset-end'), f);
    expect(d).toEqual({ rxBytes: 100n, txBytes: 200n, reset: [], appeared: [], vanished: [] });
  });
});

describe('NetDevReader', () => {
  it('re-reads the live /proc/net/dev through one descriptor', () => {
    const r = new NetDevReader();
    const a = r.read();
    const b = r.read();
    r.close();
    expect(a.interfaces.some((i) => i.name === 'lo')).toBe(true);
    expect(b.interfaces.map((i) => i.name)).toEqual(a.interfaces.map((i) => i.name));
    expect(a.malformed).toEqual([]);
  });

  it('says which file it could not read', () => {
    let err: unknown;
    try {
      new NetDevReader('/nonexistent/net/dev').read();
    } catch (e) {
      err = e;
    }
    expect((err as ProcNetDevError).code).toBe('E_PROCNETDEV_READ');
  });
});
