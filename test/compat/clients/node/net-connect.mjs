// Node.js `net.connect({host, port})`: dns.lookup for a name, then a libuv TCP connect; speaks HTTP/1.0 by hand.
import net from 'node:net';
import { run } from './common.mjs';

await run(
  (url) =>
    new Promise((resolve, reject) => {
      const sock = net.connect({ host: url.hostname, port: Number(url.port) });
      let data = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(`GET ${url.pathname} HTTP/1.0\r\nHost: ${url.host}\r\n\r\n`));
      sock.on('data', (d) => {
        data += d;
      });
      sock.on('end', () => resolve(data.split('\r\n')[0]?.replace(/^HTTP\/1\.[01] (\d+).*$/, 'HTTP $1') ?? ''));
      sock.on('error', reject);
    }),
);
