// c-ares (Node's dns.Resolver) as a real raw-DNS client: it connects a UDP socket to the nameserver and sends each
// question with send(), with an EDNS OPT record and a DNS COOKIE. Prints {"case","ok","code","addresses"} per query.
// usage: node socket_dns_node.mjs NAMESERVER NAME…
import { Resolver } from 'node:dns/promises';

const [ns, ...names] = process.argv.slice(2);
const r = new Resolver({ timeout: 2000, tries: 1 });
r.setServers([ns]);
for (const name of names) {
  try {
    const addresses = await r.resolve4(name);
    console.log(JSON.stringify({ case: `node-${name}`, ok: true, addresses }));
  } catch (e) {
    console.log(JSON.stringify({ case: `node-${name}`, ok: false, code: e.code }));
  }
}
