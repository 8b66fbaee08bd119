/**
 * Destination syntax: host names and wildcards (`host:`), addresses (`ip:`), networks (`cidr:`) and the shorthand
 * string form of a rule (`"host[:port]"`, `"ip[:port]"`, `"cidr[:port]"`, `"[ipv6 or ipv6 cidr]:port"`).
 * Each parser returns a `Target` or a `{code, message}` that says how to fix the input.
 */
import { nameProblem, normalizeName } from '../names/normalize.js';
import { parseAddr, parseCidr } from '../net/ip.js';
import type { Target } from './ast.js';

export interface Problem {
  code: string;
  message: string;
}
export type TargetResult = Target | Problem;

export function isProblem(x: object): x is Problem {
  return 'code' in x;
}

export const WILDCARD_FORMS =
  'the only wildcard form is `*.example.com` (a `*` as the whole first label: every name strictly below ' +
  'example.com, at any depth, not example.com itself); add `host: example.com` to include the name itself';

const NAME_MESSAGES: Record<string, string> = {
  empty: 'is empty',
  'too-long': 'is longer than 253 characters',
  'empty-label': 'has an empty label (two dots in a row, or a leading dot)',
  'label-too-long': 'has a label longer than 63 characters',
  'bad-char': 'has a character that cannot appear in a host name (allowed: letters, digits, `-`, `_`, `.`)',
  idn: 'is an internationalised name that cannot be converted to punycode',
};

const NAME_CODES: Record<string, string> = {
  empty: 'HOST_INVALID',
  'too-long': 'HOST_TOO_LONG',
  'empty-label': 'HOST_INVALID',
  'label-too-long': 'HOST_LABEL_TOO_LONG',
  'bad-char': 'HOST_INVALID',
  idn: 'HOST_IDN_INVALID',
};

/** A `host:` value: an exact name or `*.suffix`. */
export function parseHost(text: string): TargetResult {
  const t = text.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    return { code: 'HOST_HAS_SCHEME', message: `host ${JSON.stringify(t)} is a URL: write only the host name` };
  }
  if (parseAddr(t) || typeof parseCidr(t) === 'object') {
    return {
      code: 'HOST_IS_IP',
      message: `host ${JSON.stringify(t)} is an IP address or network: use \`ip:\` or \`cidr:\` instead of \`host:\``,
    };
  }
  if (/:\d+$/.test(t)) {
    return {
      code: 'HOST_HAS_PORT',
      message: `host ${JSON.stringify(t)} includes a port: use \`ports: [${t.slice(t.lastIndexOf(':') + 1)}]\` or the string form "${t}"`,
    };
  }
  if (t.includes('*')) {
    if (!t.startsWith('*.') || t.indexOf('*', 1) >= 0) {
      return { code: 'WILDCARD_FORM', message: `bad wildcard ${JSON.stringify(t)}: ${WILDCARD_FORMS}` };
    }
    const suffix = normalizeName(t.slice(2));
    const p = nameProblem(suffix, t.slice(2));
    if (p) return { code: NAME_CODES[p]!, message: `host ${JSON.stringify(t)} ${NAME_MESSAGES[p]}` };
    return { kind: 'wildcard', suffix };
  }
  if (t.startsWith('.') && t.length > 1 && !t.startsWith('..')) {
    return {
      code: 'HOST_LEADING_DOT',
      message: `host ${JSON.stringify(t)} starts with a dot: write \`*${t}\` for every name below ${t.slice(1)}, or \`${t.slice(1)}\` for the name itself`,
    };
  }
  const name = normalizeName(t);
  const p = nameProblem(name, t);
  if (p) return { code: NAME_CODES[p]!, message: `host ${JSON.stringify(t)} ${NAME_MESSAGES[p]}` };
  return { kind: 'host', name };
}

/** An `ip:` (single address) or `cidr:` value. A bare address in `cidr:` means that one address. */
export function parseIpTarget(text: string, field: 'ip' | 'cidr'): TargetResult {
  const t = text.trim();
  if (field === 'ip' && t.includes('/')) {
    return {
      code: 'IP_HAS_PREFIX',
      message: `ip ${JSON.stringify(t)} has a prefix length: use \`cidr:\` for networks`,
    };
  }
  const c = parseCidr(t);
  if (c === 'bad-address') {
    return {
      code: field === 'ip' ? 'IP_INVALID' : 'CIDR_INVALID',
      message: `${JSON.stringify(t)} is not an IPv4 or IPv6 ${field === 'ip' ? 'address' : 'network'} (examples: 10.0.0.0/8, 2001:db8::/32; IPv4 is dotted-quad without leading zeros)`,
    };
  }
  if (c === 'bad-prefix') {
    return {
      code: 'CIDR_BAD_PREFIX',
      message: `${JSON.stringify(t)} has a bad prefix length: 0–32 for IPv4, 0–128 for IPv6`,
    };
  }
  if (c.hostBitsSet) {
    const net = c.v === 4 ? formatNet4(c.start, c.prefix) : undefined;
    return {
      code: 'CIDR_HOST_BITS',
      message: `${JSON.stringify(t)} has bits set after the /${c.prefix} prefix: write the network address${net ? ` (${net})` : ''}, or \`ip: ${t.slice(0, t.indexOf('/'))}\` for the single address`,
    };
  }
  return { kind: 'ip', v: c.v, start: c.start, end: c.end, text: t };
}

function formatNet4(start: bigint, prefix: number): string {
  const n = Number(start);
  return `${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}/${prefix}`;
}

/**
 * Splits a shorthand rule string into its destination and optional port text:
 * `[v6]:port` / `[v6/len]:port` → bracketed part; one `:` → `dest:port`; two or more `:` → a bare IPv6 (no port).
 */
export function splitShorthand(text: string): { dest: string; port: string | null } | Problem {
  const t = text.trim();
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) return { code: 'SHORTHAND_SYNTAX', message: `missing \`]\` in ${JSON.stringify(t)}` };
    const rest = t.slice(close + 1);
    if (rest === '') return { dest: t.slice(1, close), port: null };
    if (!rest.startsWith(':') || rest.length === 1) {
      return {
        code: 'SHORTHAND_SYNTAX',
        message: `expected \`:port\` after \`]\` in ${JSON.stringify(t)} (form: "[2001:db8::1]:443")`,
      };
    }
    return { dest: t.slice(1, close), port: rest.slice(1) };
  }
  const colons = t.split(':').length - 1;
  if (colons === 1) {
    const at = t.indexOf(':');
    return { dest: t.slice(0, at), port: t.slice(at + 1) };
  }
  return { dest: t, port: null };
}

/** The destination part of a shorthand: an address/network if it parses as one, else a host or wildcard. */
export function parseShorthandDest(dest: string): TargetResult {
  if (parseAddr(dest) || dest.includes('/')) return parseIpTarget(dest, 'cidr');
  return parseHost(dest);
}
