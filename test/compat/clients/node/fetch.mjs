// Node.js global `fetch` (undici): dns.lookup → getaddrinfo on the libuv pool, then a libuv TCP connect.
import { run } from './common.mjs';

await run(async (url) => {
  const res = await fetch(url);
  await res.text();
  return `HTTP ${res.status}`;
});
