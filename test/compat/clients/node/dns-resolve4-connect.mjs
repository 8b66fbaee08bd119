// Node.js: resolve with `dns.resolve4` (c-ares, raw DNS) and then fetch from the address it returned with `http.get`
// (Host header set) — what libraries that do their own DNS (service discovery, caching resolvers) end up doing. No
// getaddrinfo runs, so the guard never learns that the address belongs to the allowed name.
import dns from 'node:dns';
import http from 'node:http';
import { run } from './common.mjs';

const resolver = new dns.promises.Resolver({ timeout: 1500, tries: 1 });
await run(async (url) => {
  const [ip] = await resolver.resolve4(url.hostname);
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: ip, port: url.port, path: url.pathname, headers: { host: url.host }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(`HTTP ${res.statusCode}`));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
});
