/**
 * The demo's network: network namespaces it creates and always deletes (root needed).
 *
 *   <prefix>-net   the "internet": one /32 per example host on its lo, where servers.ts listens, and the far ends of
 *                  the veth pairs. Lives for the whole demo.
 *   <prefix>-fnN   one fresh "execution environment" per function run (as Lambda gives each cold start a fresh
 *                  sandbox, so /proc/net/dev starts near zero): lo (the Runtime API on 127.0.0.1, as in Lambda) and
 *                  `eg-vint`, a veth end (like Lambda's vint_* interfaces: traffic over it shows in /proc/net/dev,
 *                  which the agent measures). A private /etc/hosts (bind-mounted by `ip netns exec`) maps
 *                  the example hosts to the "internet"; resolv.conf points at 127.0.0.1 where nothing listens, so no
 *                  DNS query can leave. The only route leads to the "internet" namespace.
 * Only addresses inside these namespaces are used (10.201.0.0/16); nothing reaches any other network.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

export interface DemoHost {
  name: string;
  ip: string;
}

export interface Namespace {
  name: string;
  destroy(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`demo: \`ip ${args.join(' ')}\` failed: ${r.stderr || r.error}`);
}

function namespace(name: string): Namespace {
  ip(['netns', 'add', name]);
  const destroy = () => {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 20_000 });
    rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
  };
  try {
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    destroy();
    throw e;
  }
  return { name, destroy };
}

/** The "internet" namespace with the example hosts' addresses. */
export function createInternet(name: string, hosts: DemoHost[]): Namespace {
  const ns = namespace(name);
  try {
    for (const h of hosts) ip(['-n', name, 'addr', 'add', `${h.ip}/32`, 'dev', 'lo']);
  } catch (e) {
    ns.destroy();
    throw e;
  }
  return ns;
}

/**
 * A fresh function namespace joined to `internet` by a veth pair. Destroying it deletes the pair first: the kernel
 * tears a deleted namespace's devices down asynchronously, so the next run's `eg-inet` could otherwise still find the
 * old one in the "internet" namespace ("File exists").
 */
export function createFunctionNs(name: string, internet: Namespace, hosts: DemoHost[]): Namespace {
  const base = namespace(name);
  const ns: Namespace = {
    name,
    destroy: () => {
      spawnSync('ip', ['-n', internet.name, 'link', 'del', 'eg-inet'], { stdio: 'ignore', timeout: 20_000 });
      base.destroy();
    },
  };
  try {
    ip(['link', 'add', 'eg-vint', 'netns', name, 'type', 'veth', 'peer', 'name', 'eg-inet', 'netns', internet.name]);
    for (const [n, dev, addr] of [
      [name, 'eg-vint', '10.201.0.2/24'],
      [internet.name, 'eg-inet', '10.201.0.1/24'],
    ] as const) {
      ip(['-n', n, 'addr', 'add', addr, 'dev', dev]);
      ip(['-n', n, 'link', 'set', dev, 'up']);
    }
    ip(['-n', name, 'route', 'add', '10.201.1.0/24', 'via', '10.201.0.1']);
    mkdirSync(`/etc/netns/${name}`, { recursive: true });
    const lines = ['127.0.0.1 localhost', '::1 localhost', ...hosts.map((h) => `${h.ip} ${h.name}`)];
    writeFileSync(`/etc/netns/${name}/hosts`, `${lines.join('\n')}\n`);
    writeFileSync(`/etc/netns/${name}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  } catch (e) {
    ns.destroy();
    throw e;
  }
  return ns;
}
