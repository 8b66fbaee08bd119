/**
 * The demo's network: two network namespaces it creates and always deletes (root needed).
 *
 *   <prefix>-fn   the "execution environment": lo (the Runtime API on 127.0.0.1, as in Lambda) and one veth end,
 *                 `eg-vint` (like Lambda's vint_* interfaces: traffic over it shows in /proc/net/dev, which the
 *                 metering wrapper measures). A private /etc/hosts maps the example hosts to the "internet" side;
 *                 resolv.conf points at 127.0.0.1 where nothing listens, so no DNS query can leave.
 *   <prefix>-net  the "internet": the other veth end and one /32 per example host, where servers.ts listens.
 * Only addresses inside these two namespaces are used; no route leads anywhere else.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

export interface DemoHost {
  name: string;
  ip: string;
}

export interface DemoNet {
  fn: string;
  net: string;
  destroy(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`demo: \`ip ${args.join(' ')}\` failed: ${r.stderr || r.error}`);
}

export function createDemoNet(prefix: string, hosts: DemoHost[]): DemoNet {
  const fn = `${prefix}-fn`;
  const net = `${prefix}-net`;
  const destroy = () => {
    for (const n of [fn, net]) {
      spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore', timeout: 20_000 });
      rmSync(`/etc/netns/${n}`, { recursive: true, force: true });
    }
  };
  try {
    ip(['netns', 'add', fn]);
    ip(['netns', 'add', net]);
    ip(['link', 'add', 'eg-vint', 'netns', fn, 'type', 'veth', 'peer', 'name', 'eg-inet', 'netns', net]);
    for (const [ns, dev, addr] of [
      [fn, 'eg-vint', '10.201.0.2/24'],
      [net, 'eg-inet', '10.201.0.1/24'],
    ] as const) {
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', addr, 'dev', dev]);
      ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
    for (const h of hosts) ip(['-n', net, 'addr', 'add', `${h.ip}/32`, 'dev', 'lo']);
    ip(['-n', fn, 'route', 'add', '10.201.1.0/24', 'via', '10.201.0.1']);
    mkdirSync(`/etc/netns/${fn}`, { recursive: true });
    const lines = ['127.0.0.1 localhost', '::1 localhost', ...hosts.map((h) => `${h.ip} ${h.name}`)];
    writeFileSync(`/etc/netns/${fn}/hosts`, `${lines.join('\n')}\n`);
    writeFileSync(`/etc/netns/${fn}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  } catch (e) {
    destroy();
    throw e;
  }
  return { fn, net, destroy };
}
