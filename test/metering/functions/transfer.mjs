// Test function: moves a known number of bytes over the network, as the event says.
// event: { download?: {url}, upload?: {host, port, bytes}, throwAfter?: bool, sleepMs?: number,
//          thenConnect?: {host, port, waitForTripMs?: number, statePath?: string (default EGRESS_GUARD_STATE)} }
// `thenConnect` (enforcement tests): after the transfer, wait until the shared state says BUDGET_TRIPPED (bit 1 of
// the flags at offset 32), then try a new TCP connection; the outcome goes to globalThis.__egSettle's result.
import { openSync, readSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const get = (url) =>
  new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let n = 0;
        res.on('data', (d) => {
          n += d.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });

const upload = ({ host, port, bytes }) =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.end(Buffer.alloc(bytes, 'u')));
    let back = 0;
    s.on('data', (d) => {
      back += d.length;
    });
    s.on('close', () => resolve(back));
    s.on('error', reject);
  });

const tripped = (statePath) => {
  const b = Buffer.alloc(4);
  const fd = openSync(statePath, 'r');
  readSync(fd, b, 0, 4, 32);
  return (b.readUInt32LE(0) & 2) !== 0;
};

const tryConnect = ({ host, port }) =>
  new Promise((resolve) => {
    const s = net.connect(port, host, () => {
      s.destroy();
      resolve({ connected: true });
    });
    s.on('error', (e) => resolve({ connected: false, code: e.code }));
  });

async function work(event) {
  const out = {};
  if (event.download) out.downloaded = await get(event.download.url);
  if (event.upload) out.echoed = await upload(event.upload);
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  if (event.throwAfter) throw Object.assign(new Error('handler failed on purpose'), { code: 'E_TEST_THROW' });
  return out;
}

export const handler = async (event) => {
  if (!event.thenConnect) return work(event);
  const tc = event.thenConnect;
  const bg = (async () => {
    const out = await work(event);
    const until = Date.now() + (tc.waitForTripMs ?? 5000);
    while (!tripped(tc.statePath ?? process.env.EGRESS_GUARD_STATE) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5));
    out.afterTrip = await tryConnect(tc);
    return out;
  })();
  globalThis.__egSettle = bg.then(
    (r) => (globalThis.__egAfter = r),
    (e) => (globalThis.__egAfter = { error: e.code }),
  );
  return bg;
};
