// A misbehaving Node client: a tight reconnect loop to one denied address (test/adversarial/log-flood.test.ts).
// usage: node flood.mjs SECONDS PORT — connects to 10.88.0.2:PORT, 50 attempts at a time, for SECONDS, counting every
// attempt and how it ended; prints one JSON line on stdout.
import net from 'node:net';

const [seconds, port] = process.argv.slice(2).map(Number);
const errors = {};
let attempts = 0;

function one() {
  return new Promise((resolve) => {
    const s = net.connect({ host: '10.88.0.2', port });
    s.on('connect', () => {
      errors.ok = (errors.ok ?? 0) + 1;
      s.destroy();
      resolve();
    });
    s.on('error', (e) => {
      errors[e.code] = (errors[e.code] ?? 0) + 1;
      resolve();
    });
  });
}

const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  await Promise.all(Array.from({ length: 50 }, one));
  attempts += 50;
}
console.log(JSON.stringify({ pid: process.pid, attempts, errors }));
