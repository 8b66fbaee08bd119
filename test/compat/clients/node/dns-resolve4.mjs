// Node.js `dns.resolve4`: c-ares, which sends raw DNS packets to the nameserver of /etc/resolv.conf (no getaddrinfo).
import dns from 'node:dns';
import { run } from './common.mjs';

const resolver = new dns.promises.Resolver({ timeout: 1500, tries: 1 });
await run(async (url) => `resolved ${(await resolver.resolve4(url.hostname)).join(',')}`);
