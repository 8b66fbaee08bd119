// Node half of bench/wrapper.ts (run by it; see there for the method). argv: invokes, output JSON path.
// Env: EG_BENCH_BUNDLE (the layer bundle) and the guard's own variables, set by the parent.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const n = Number(process.argv[2]);
const out = process.argv[3];
const wrapped = (await import(pathToFileURL(process.env.EG_BENCH_BUNDLE).href)).handler;
const plain = (await import(pathToFileURL(join(import.meta.dirname, 'wrapper-fn/noop.mjs')).href)).handler;
const ctx = (i) => ({
  awsRequestId: `bench-${i}-0000-0000-0000-000000000000`,
  functionName: 'bench',
  getRemainingTimeInMillis: () => 30_000,
  callbackWaitsForEmptyEventLoop: true,
});
const time = async (h, i) => {
  const t0 = process.hrtime.bigint();
  await h({ n: i }, ctx(i));
  return Number(process.hrtime.bigint() - t0) / 1000;
};
for (let i = 0; i < Math.min(500, n); i++) {
  await time(wrapped, i);
  await time(plain, i);
}
const p = [];
const w = [];
for (let i = 0; i < n; i++) {
  if (i % 2 === 0) {
    w.push(await time(wrapped, i));
    p.push(await time(plain, i));
  } else {
    p.push(await time(plain, i));
    w.push(await time(wrapped, i));
  }
}
const q = (s, f) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
const r = (x) => Math.round(x * 10) / 10;
const d = p.map((x, i) => w[i] - x).sort((a, b) => a - b);
const ps = [...p].sort((a, b) => a - b);
const ws = [...w].sort((a, b) => a - b);
writeFileSync(
  out,
  JSON.stringify({
    lang: 'node',
    invokes: n,
    plainMedianUs: r(q(ps, 0.5)),
    wrappedMedianUs: r(q(ws, 0.5)),
    plainP90Us: r(q(ps, 0.9)),
    wrappedP90Us: r(q(ws, 0.9)),
    addedMedianUs: r(q(d, 0.5)),
  }),
);
