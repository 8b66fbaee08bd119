// Node.js `dns.lookup`: getaddrinfo on the libuv thread pool (what http, net and fetch use underneath).
import dns from 'node:dns';
import { run } from './common.mjs';

await run(async (url) => {
  const all = await dns.promises.lookup(url.hostname, { all: true });
  return `resolved ${all.map((a) => a.address).join(',')}`;
});
