// Node.js `dgram` (libuv UDP): `send` on an unconnected socket, a datagram whose payload is the URL path's last part.
import dgram from 'node:dgram';
import { run } from './common.mjs';

await run(
  (url) =>
    new Promise((resolve, reject) => {
      const sock = dgram.createSocket(url.hostname.includes(':') ? 'udp6' : 'udp4');
      const payload = Buffer.from(url.pathname.slice(1));
      sock.on('error', reject);
      sock.send(payload, Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), (err) => {
        sock.close();
        if (err) reject(err);
        else resolve(`sent ${payload.length} bytes`);
      });
    }),
);
