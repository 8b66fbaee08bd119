// Node.js `http.get`: dns.lookup → getaddrinfo on the libuv pool, then a libuv TCP connect.
import http from 'node:http';
import { run } from './common.mjs';

await run(
  (url) =>
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(`HTTP ${res.statusCode}`));
        res.on('error', reject);
      });
      req.on('error', reject);
    }),
);
