/**
 * The compatibility scenario: one set of destinations, the same for every runtime and client.
 *
 * Inside the suite's own network namespace (one per test file), on `lo`:
 * | step          | what the client does                                  | destination                 | policy   |
 * |---------------|-------------------------------------------------------|-----------------------------|----------|
 * | `allowed`     | resolve `allowed.compat.test`, fetch over HTTP        | 10.77.0.2:8080/tcp          | allowed  |
 * | `denied-name` | resolve `denied.compat.test` (and fetch if it can)    | 10.77.0.4:8080/tcp          | default deny |
 * | `denied-ip`   | connect to an IP literal (fetch `http://10.77.0.3…`)  | 10.77.0.3:8080/tcp          | default deny |
 * | `udp`         | send one UDP datagram                                 | 10.77.0.5:9999/udp          | default deny |
 * Names come from the namespace's private hosts file; the DNS server at 10.77.0.53:53 (allowed by the policy)
 * answers the same names for clients that send raw DNS (Node's `dns.resolve4`, c-ares).
 *
 * Every URL path / UDP payload carries a token (`c-<client>-<mode>-<step>`) so the server's records show exactly
 * which step of which run reached it, even with clients running in parallel.
 */
import { join } from 'node:path';
import { ROOT } from '../../support/guard.js';
import type { ServerSpec } from '../../support/netns.js';

export const MODES = ['audit', 'enforce'] as const;
export type Mode = (typeof MODES)[number];

export const STEPS = ['allowed', 'denied-name', 'denied-ip', 'udp'] as const;
export type StepId = (typeof STEPS)[number];

export const STEP_TITLES: Record<StepId, string> = {
  allowed: 'allowed name + HTTP fetch',
  'denied-name': 'denied name',
  'denied-ip': 'denied IP literal',
  udp: 'UDP to denied address',
};

export const ALLOWED_NAME = 'allowed.compat.test';
export const DENIED_NAME = 'denied.compat.test';
export const ALLOWED_IP = '10.77.0.2';
export const DENIED_LITERAL_IP = '10.77.0.3';
export const DENIED_NAME_IP = '10.77.0.4';
export const UDP_IP = '10.77.0.5';
export const NAMESERVER_IP = '10.77.0.53';
export const HTTP_PORT = 8080;
export const UDP_PORT = 9999;
export const DNS_PORT = 53;

export const ADDRESSES = [ALLOWED_IP, DENIED_LITERAL_IP, DENIED_NAME_IP, UDP_IP, NAMESERVER_IP].map((a) => `${a}/32`);
export const HOSTS: Record<string, string> = { [ALLOWED_NAME]: ALLOWED_IP, [DENIED_NAME]: DENIED_NAME_IP };
export const RESOLV_CONF = `nameserver ${NAMESERVER_IP}\noptions timeout:1 attempts:1\n`;

export const POLICY = join(ROOT, 'test/fixtures/compat/policy.yaml');
/** Same as POLICY without the nameserver rule (raw DNS denied by destination). */
export const POLICY_NAMESERVER_DENIED = join(ROOT, 'test/fixtures/compat/policy-nameserver-denied.yaml');

export const SERVER_SPEC: ServerSpec = {
  http: [ALLOWED_IP, DENIED_LITERAL_IP, DENIED_NAME_IP].map((host) => ({ host, port: HTTP_PORT, body: 'compat-ok\n' })),
  udp: [{ host: UDP_IP, port: UDP_PORT }],
  dns: [
    { host: NAMESERVER_IP, port: DNS_PORT, records: { [ALLOWED_NAME]: [ALLOWED_IP], [DENIED_NAME]: [DENIED_NAME_IP] } },
  ],
};

/** The destination of each step, used to attribute log lines and server records to it. */
export const STEP_DEST: Record<StepId, { host?: string; ip: string; port: number; proto: 'tcp' | 'udp' }> = {
  allowed: { host: ALLOWED_NAME, ip: ALLOWED_IP, port: HTTP_PORT, proto: 'tcp' },
  'denied-name': { host: DENIED_NAME, ip: DENIED_NAME_IP, port: HTTP_PORT, proto: 'tcp' },
  'denied-ip': { ip: DENIED_LITERAL_IP, port: HTTP_PORT, proto: 'tcp' },
  udp: { ip: UDP_IP, port: UDP_PORT, proto: 'udp' },
};

export function token(client: string, mode: Mode, step: StepId): string {
  return `c-${client.replace(/[^A-Za-z0-9]+/g, '_')}-${mode}-${step}`;
}

/** The `step=url` argument of the client protocol (docs/COMPATIBILITY.md) for one step of one run. */
export function stepUrl(client: string, mode: Mode, step: StepId): string {
  const t = token(client, mode, step);
  switch (step) {
    case 'allowed':
      return `http://${ALLOWED_NAME}:${HTTP_PORT}/${t}`;
    case 'denied-name':
      return `http://${DENIED_NAME}:${HTTP_PORT}/${t}`;
    case 'denied-ip':
      return `http://${DENIED_LITERAL_IP}:${HTTP_PORT}/${t}`;
    case 'udp':
      return `udp://${UDP_IP}:${UDP_PORT}/${t}`;
  }
}
