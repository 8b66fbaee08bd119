// Test function: downloads event.url (a loopback server in the tests that need no root), optionally after a delay.
import http from 'node:http';

// The work is also left in globalThis.__egSettle, so a driver can wait for it when the guard failed the invoke early.
const work = async (event) => {
  if (event.delayMs) await new Promise((r) => setTimeout(r, event.delayMs));
  const n = await new Promise((resolve, reject) => {
    http
      .get(event.url, (res) => {
        let k = 0;
        res.on('data', (d) => {
          k += d.length;
        });
        res.on('end', () => resolve(k));
      })
      .on('error', reject);
  });
  if (event.holdMs) await new Promise((r) => setTimeout(r, event.holdMs));
  return { downloaded: n };
};

export const handler = (event) => {
  const p = work(event);
  globalThis.__egSettle = p.then(
    () => ({ done: true }),
    () => ({ done: false }),
  );
  return p;
};
