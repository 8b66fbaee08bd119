/**
 * When may `suggest` widen observed names into `*.parent`? (docs/SUGGEST.md, "Wildcards")
 *
 * `*.P` is proposed only when ALL of these hold:
 * 1. at least `minSiblings` (default 3) distinct labels were observed directly below P (names at any depth below P
 *    count through the label right under P: `a.x.P`, `b.y.P`, `c.P` give three);
 * 2. P is not a public suffix, ICANN or private, by the Public Suffix List in `tldts` (`*.com`, `*.co.uk`,
 *    `*.s3.amazonaws.com`, `*.us-east-1.amazonaws.com`, `*.cloudfront.net`, `*.github.io` are never proposed), and P
 *    has a registrable domain (so never a bare TLD or an unknown single label);
 * 3. P is not one of the multi-tenant provider suffixes in `PROVIDER_SUFFIXES`, and if P lies below one of them, at
 *    least one label between the provider suffix and P's wildcard names a service (not a region such as
 *    `us-east-1`, not a generic label such as `dualstack`/`fips`): `*.amazonaws.com`, `*.api.aws` are never proposed,
 *    `*.sqs.us-east-1.amazonaws.com` may be;
 * 4. P is not an IP address and not `localhost`.
 *
 * `collapseNames` walks each registrable domain top-down and takes the widest P that satisfies all of the above;
 * names that no safe P collects stay exact. P itself, when observed, stays an exact rule (`*.P` never matches P).
 */
import { parse } from 'tldts';

/**
 * Suffixes under which anyone can obtain a name (cloud endpoints, hosting, tunnels, CDNs). The Public Suffix List
 * covers many tenant namespaces already (`s3.amazonaws.com`, `herokuapp.com` …); this list adds the provider roots
 * that the PSL treats as ordinary registrable domains.
 */
export const PROVIDER_SUFFIXES: readonly string[] = [
  'amazonaws.com',
  'amazonaws.com.cn',
  'api.aws',
  'on.aws',
  'aws.dev',
  'awsapps.com',
  'amazoncognito.com',
  'cloudfront.net',
  'elasticbeanstalk.com',
  'windows.net',
  'azure.com',
  'azure.net',
  'azurewebsites.net',
  'azure-api.net',
  'azureedge.net',
  'azurefd.net',
  'cloudapp.net',
  'trafficmanager.net',
  'googleapis.com',
  'googleusercontent.com',
  'appspot.com',
  'cloudfunctions.net',
  'run.app',
  'web.app',
  'firebaseapp.com',
  'firebaseio.com',
  'pkg.dev',
  'herokuapp.com',
  'github.io',
  'githubusercontent.com',
  'gitlab.io',
  'netlify.app',
  'vercel.app',
  'pages.dev',
  'workers.dev',
  'r2.dev',
  'fly.dev',
  'onrender.com',
  'ngrok.io',
  'ngrok.app',
  'ngrok-free.app',
  'trycloudflare.com',
  'cloudflare.net',
  'fastly.net',
  'akamaihd.net',
  'akamaized.net',
  'edgekey.net',
  'edgesuite.net',
  'digitaloceanspaces.com',
  'oraclecloud.com',
  'supabase.co',
  'pipedream.net',
  'webhook.site',
];

/** Labels that qualify a provider name but never identify a service. */
const GENERIC_LABELS = new Set(['dualstack', 'fips', 'global', 'www', 'api']);
const REGION_RE = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

export type UnsafeReason = 'public-suffix' | 'no-registrable-domain' | 'provider-suffix' | 'ip-or-local';

/** Why `*.parent` must not be proposed, or null when it may. */
export function wildcardUnsafe(parent: string): UnsafeReason | null {
  if (parent === 'localhost' || parent.endsWith('.localhost')) return 'ip-or-local';
  const p = parse(parent, { allowPrivateDomains: true });
  if (p.isIp) return 'ip-or-local';
  if (p.publicSuffix === null || p.publicSuffix === parent) return 'public-suffix';
  if (p.domain === null) return 'no-registrable-domain';
  for (const x of PROVIDER_SUFFIXES) {
    if (parent === x) return 'provider-suffix';
    if (parent.endsWith(`.${x}`)) {
      const between = parent.slice(0, -x.length - 1).split('.');
      if (!between.some((l) => !REGION_RE.test(l) && !GENERIC_LABELS.has(l))) return 'provider-suffix';
    }
  }
  return null;
}

export interface NameGroup {
  /** `exact`: one name; `wildcard`: `*.suffix` covering `members` (all strictly below `suffix`) */
  kind: 'exact' | 'wildcard';
  /** the exact name, or the wildcard's suffix */
  name: string;
  members: string[];
}

interface Node {
  children: Map<string, Node>;
  /** this exact name was observed */
  seen: boolean;
}

/**
 * Groups observed names (normalised). `minSiblings` < 2 disables wildcards. Output order is deterministic
 * (sorted by reversed labels, so names of one domain stay together).
 */
export function collapseNames(names: Iterable<string>, minSiblings: number): NameGroup[] {
  // Trie from each registrable domain downwards; names without a registrable domain stay exact.
  const roots = new Map<string, Node>();
  const out: NameGroup[] = [];
  for (const n of new Set(names)) {
    const dom = minSiblings >= 2 ? parse(n, { allowPrivateDomains: true }).domain : null;
    if (dom === null || (n !== dom && !n.endsWith(`.${dom}`))) {
      out.push({ kind: 'exact', name: n, members: [n] });
      continue;
    }
    let node: Node | undefined = roots.get(dom);
    if (!node) {
      node = { children: new Map(), seen: false };
      roots.set(dom, node);
    }
    const rest =
      n === dom
        ? []
        : n
            .slice(0, -dom.length - 1)
            .split('.')
            .reverse();
    for (const label of rest) {
      let c: Node | undefined = node.children.get(label);
      if (!c) {
        c = { children: new Map(), seen: false };
        node.children.set(label, c);
      }
      node = c;
    }
    node.seen = true;
  }
  for (const [dom, node] of roots) visit(dom, node, minSiblings, out);
  return out.sort((a, b) => compareNames(a.name, b.name) || (a.kind === 'exact' ? -1 : 1));
}

function visit(name: string, node: Node, minSiblings: number, out: NameGroup[]): void {
  if (node.seen) out.push({ kind: 'exact', name, members: [name] });
  if (node.children.size === 0) return;
  if (node.children.size >= minSiblings && wildcardUnsafe(name) === null) {
    const members: string[] = [];
    collect(name, node, members, true);
    out.push({ kind: 'wildcard', name, members: members.sort(compareNames) });
    return;
  }
  for (const [label, c] of node.children) visit(`${label}.${name}`, c, minSiblings, out);
}

function collect(name: string, node: Node, into: string[], top: boolean): void {
  if (node.seen && !top) into.push(name);
  for (const [label, c] of node.children) collect(`${label}.${name}`, c, into, false);
}

/** Orders names by their labels from the right, so a domain's names stay together and a parent precedes its children. */
export function compareNames(a: string, b: string): number {
  const x = a.split('.').reverse();
  const y = b.split('.').reverse();
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}
