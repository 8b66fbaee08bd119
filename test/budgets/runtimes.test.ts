// Budgets live in the interposer, so every runtime it guards gets them: a Java HttpClient, a Ruby Net::HTTP and a
// .NET HttpClient transfer (CoreCLR: test/compat/dotnet.test.ts says where it comes from), with a 1 MiB budget, stop
// within 2 MiB like Node's and Python's (overshoot.test.ts). The peer is the witness.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needDotnet } from '../compat/support/build.js';
import { needCommand, needNetns } from '../support/capability.js';
import { clientCommand, createWorld, MiB, type World } from './world.js';

const ok = needNetns() && needCommand('java', '-version') && needCommand('ruby') && needDotnet();
const FIVE = 5 * MiB;
const BOUND = 2 * MiB;

describe.skipIf(!ok)('Java, Ruby and .NET get byte budgets', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld('egbr');
  });
  afterAll(() => w?.destroy());

  it.each(['java', 'ruby', 'dotnet'] as const)('%s download: cut within 2 MiB', async (lang) => {
    const [cmd, args] = clientCommand(lang, 'download', `${w.witness}/bytes/${FIVE}`);
    const r = await w.runGuarded(cmd, args, { budgets: { rxBytes: MiB } });
    const seen = await w.nextWitness('download');
    expect(r.result, r.stderr).toMatchObject({ ok: false });
    expect(seen.acked).toBeLessThanOrEqual(BOUND);
    expect(r.wire.rx).toBeLessThanOrEqual(BOUND);
    expect(r.state).toMatchObject({ tripBudget: 1 });
    expect(r.state.ioRx).toBe(BigInt(MiB + 1));
    expect(r.logs.filter((l) => l.event === 'cut')).toHaveLength(1);
    console.log(`${lang} download: app ${r.state.ioRx}, peer acked ${seen.acked}, wire ${r.wire.rx}`);
  });

  it.each(['java', 'ruby', 'dotnet'] as const)('%s upload: the peer never gets the whole request', async (lang) => {
    const [cmd, args] = clientCommand(lang, 'upload', `${w.witness}/upload`, FIVE);
    const r = await w.runGuarded(cmd, args, { budgets: { txBytes: MiB } });
    const seen = await w.nextWitness('upload');
    expect(r.result, r.stderr).toMatchObject({ ok: false });
    expect(seen.complete).toBe(false);
    expect(seen.received).toBeLessThanOrEqual(BOUND);
    expect(r.wire.tx).toBeLessThanOrEqual(BOUND);
    expect(r.state).toMatchObject({ tripBudget: 2 });
    console.log(`${lang} upload: app ${r.state.ioTx}, peer received ${seen.received}, wire ${r.wire.tx}`);
  });
});
