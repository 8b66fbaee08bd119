/**
 * `loadCompiled(bytes)`: the reference matcher. It decides over the compiled bytes exactly as the C reader does
 * (docs/FORMAT.md, "Decisions"), so it is the oracle for the C side's differential tests.
 *
 * Every offset read from the file is bounds-checked at use: an entry whose key lies outside STRINGS, a set running
 * past RULESETS, or a rule index ≥ rule_count counts as "not found" (never an exception, never an out-of-range read).
 */

import { hash3Bytes, hash3String, hashBytes, hashString } from '../format/hash.js';
import { FLAG_ALLOW_LOOPBACK, FLAG_ENFORCE, NO_BUDGET, SET_INLINE, Section, SLOT_SIZE } from '../gen/format.js';
import { isAscii, normalizeName } from '../names/normalize.js';
import { type Addr, parseAddr, toQueryAddress } from '../net/ip.js';
import { v4TreeFind, v6TreeFind } from './trees.js';
import { type Sections, type VerifyOptions, validateFile } from './validate.js';

export type Decision = 'allow' | 'deny';
export type QueryProto = 'tcp' | 'udp';

export interface DecisionResult {
  decision: Decision;
  /** The deciding rule's display name, or `default` / `builtin:loopback`. */
  rule: string;
  /** Index of the deciding rule in RULES; null for `default` and `builtin:loopback`. */
  ruleIndex: number | null;
}

export interface CompiledRule {
  index: number;
  name: string;
  action: Decision;
  proto: 'tcp' | 'udp' | 'any';
  kind: 'host' | 'wildcard' | 'ip' | 'names-file';
  /** inclusive ranges; empty = every port */
  ports: Array<[number, number]>;
  line: number;
}

export interface CompiledBudgets {
  /** bytes (a JS number: exact up to 2^53, i.e. 8 PiB) or null = no budget */
  rxBytes: number | null;
  txBytes: number | null;
  totalBytes: number | null;
}

const KIND_NAMES = ['host', 'host', 'wildcard', 'ip', 'names-file'] as const;
const PROTO_NAMES = ['any', 'tcp', 'udp', 'any'] as const;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

interface RawRule {
  action: number;
  proto: number;
  portsFirst: number;
  portsCount: number;
}

export class CompiledPolicy {
  readonly mode: 'audit' | 'enforce';
  readonly allowLoopback: boolean;
  readonly budgets: CompiledBudgets;
  readonly size: number;
  /** format version of the file (1, 2 or 3) */
  readonly version: number;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly s: Sections;
  private readonly raw: RawRule[] = [];
  private readonly names: string[] = [];
  private cachedRules: CompiledRule[] | undefined;

  constructor(bytes: Uint8Array, opts: VerifyOptions = {}) {
    this.s = validateFile(bytes, opts);
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.size = bytes.byteLength;
    this.version = this.s.version;
    const flags = this.view.getUint32(12, true);
    this.mode = flags & FLAG_ENFORCE ? 'enforce' : 'audit';
    this.allowLoopback = (flags & FLAG_ALLOW_LOOPBACK) !== 0;
    const budget = (off: number): number | null => {
      const v = this.view.getBigUint64(off, true);
      return v === NO_BUDGET ? null : Number(v);
    };
    this.budgets = { rxBytes: budget(40), txBytes: budget(48), totalBytes: budget(56) };
    const rules = this.s[Section.RULES];
    const strings = this.s[Section.STRINGS].offset;
    for (let i = 0; i < rules.count; i++) {
      const o = rules.offset + i * 24;
      const nameOff = this.view.getUint32(o, true);
      const nameLen = this.view.getUint32(o + 4, true);
      this.names.push(utf8d.decode(bytes.subarray(strings + nameOff, strings + nameOff + nameLen)));
      this.raw.push({
        action: bytes[o + 8]!,
        proto: bytes[o + 9]!,
        portsFirst: this.view.getUint32(o + 12, true),
        portsCount: this.view.getUint32(o + 16, true),
      });
    }
  }

  get rules(): CompiledRule[] {
    if (!this.cachedRules) {
      const rules = this.s[Section.RULES];
      this.cachedRules = this.raw.map((r, i) => ({
        index: i,
        name: this.names[i]!,
        action: r.action === 0 ? 'allow' : 'deny',
        proto: PROTO_NAMES[r.proto]!,
        kind: KIND_NAMES[this.bytes[rules.offset + i * 24 + 10]!]!,
        ports: this.portRanges(r),
        line: this.view.getUint32(rules.offset + i * 24 + 20, true),
      }));
    }
    return this.cachedRules;
  }

  /** Name decision (docs/FORMAT.md "Name decision"); `port`/`proto` undefined = not known yet. */
  decideName(name: string, port?: number, proto?: QueryProto): DecisionResult {
    const n = normalizeName(name);
    const cands = this.nameCandidates(n);
    const deny = this.lowestMatch(cands, true, 1, port, proto);
    if (deny !== null) return this.result('deny', deny);
    const allow = this.lowestMatch(cands, true, 0, port, proto);
    if (allow !== null) return this.result('allow', allow);
    if (this.allowLoopback && n === 'localhost') {
      return { decision: 'allow', rule: 'builtin:loopback', ruleIndex: null };
    }
    return { decision: 'deny', rule: 'default', ruleIndex: null };
  }

  /**
   * Address decision (docs/FORMAT.md "Address decision"). `ip` is IPv4 or IPv6 text (brackets allowed).
   * The interposer always knows port and protocol here; `explain` may leave them out, and then "matches the use"
   * treats them as unknown exactly as for names.
   */
  decideAddr(ip: string, port?: number, proto?: QueryProto, boundName?: string): DecisionResult {
    const parsed = parseAddr(ip);
    if (!parsed) throw new TypeError(`not an IP address: ${JSON.stringify(ip)}`);
    const a = toQueryAddress(parsed);
    const ipSet = [this.intervalSet(a)];
    const nameSets = boundName === undefined ? [] : this.nameCandidates(normalizeName(boundName));
    let r = this.lowestMatch(ipSet, false, 1, port, proto);
    if (r !== null) return this.result('deny', r);
    r = this.lowestMatch(nameSets, true, 1, port, proto);
    if (r !== null) return this.result('deny', r);
    r = this.lowestMatch(ipSet, false, 0, port, proto);
    if (r !== null) return this.result('allow', r);
    r = this.lowestMatch(nameSets, true, 0, port, proto);
    if (r !== null) return this.result('allow', r);
    if (this.allowLoopback && (a.v === 4 ? a.n >>> 24 === 127 : a.n === 1n)) {
      return { decision: 'allow', rule: 'builtin:loopback', ruleIndex: null };
    }
    return { decision: 'deny', rule: 'default', ruleIndex: null };
  }

  /**
   * The set of the EXACT (or WILD) entry for `key`, 0 when absent: a RULESETS word index, or in version 3 possibly
   * `SET_INLINE | rule` (a set of one rule).
   */
  lookup(table: 'exact' | 'wild', key: string): number {
    // normalised names are ASCII: hash and compare the string's char codes directly (no encoding per lookup)
    const k = isAscii(key) ? null : utf8.encode(key);
    if (this.s.version >= 3) return this.find3(table, key, k) ?? 0;
    const slotsId = table === 'exact' ? Section.EXACT_SLOTS : Section.WILD_SLOTS;
    const entriesId = table === 'exact' ? Section.EXACT_ENTRIES : Section.WILD_ENTRIES;
    const slots = this.s[slotsId];
    const entries = this.s[entriesId];
    const cap = slots.count;
    if (cap === 0) return 0;
    const klen = k ? k.length : key.length;
    const h = k ? hashBytes(k, 0, k.length) : hashString(key);
    let i = h & (cap - 1);
    for (let probes = 0; probes < cap; probes++) {
      const s = this.view.getUint32(slots.offset + i * 4, true);
      if (s === 0) return 0;
      if (s - 1 < entries.count) {
        const e = entries.offset + (s - 1) * 16;
        const keyOff = this.view.getUint32(e + 4, true);
        const keyLen = this.view.getUint32(e + 8, true);
        if (this.view.getUint32(e, true) === h && keyLen === klen && this.keyEquals(keyOff, keyLen, key, k)) {
          return this.view.getUint32(e + 12, true);
        }
      }
      i = (i + 1) & (cap - 1);
    }
    return 0;
  }

  /**
   * Version 3 lookup (docs/FORMAT.md "Version 3 name tables"): the length set, then the slots with the entry inline.
   * The found slot's set, or null when the key is not found.
   */
  private find3(table: 'exact' | 'wild', key: string, k: Uint8Array | null): number | null {
    const t = this.s[table === 'exact' ? Section.EXACT_TABLE : Section.WILD_TABLE];
    const cap = t.count;
    const klen = k ? k.length : key.length;
    if (cap === 0 || klen < 1 || klen > 253) return null;
    const lens = this.s[Section.NAME_LENS].offset + (table === 'exact' ? 0 : 32);
    if ((this.bytes[lens + (klen >> 3)]! & (1 << (klen & 7))) === 0) return null;
    const h = k ? hash3Bytes(k, 0, k.length) : hash3String(key);
    let i = h & (cap - 1);
    for (let probes = 0; probes < cap; probes++) {
      const o = t.offset + i * SLOT_SIZE;
      const keyLen = this.view.getUint16(o + 8, true);
      if (keyLen === 0) return null;
      if (this.view.getUint32(o, true) === h && keyLen === klen) {
        if (this.keyEquals(this.view.getUint32(o + 4, true), keyLen, key, k)) return this.view.getUint32(o + 12, true);
      }
      i = (i + 1) & (cap - 1);
    }
    return null;
  }

  /** STRINGS[off, off + len) equals the key (`k` its UTF-8 bytes, or null when `key` is ASCII); false when outside. */
  private keyEquals(off: number, len: number, key: string, k: Uint8Array | null): boolean {
    const strings = this.s[Section.STRINGS];
    if (off + len > strings.count) return false;
    const base = strings.offset + off;
    for (let b = 0; b < len; b++) if (this.bytes[base + b] !== (k ? k[b] : key.charCodeAt(b))) return false;
    return true;
  }

  /**
   * Every rule index in the name candidates of normalised `name` (ascending, no duplicates), whatever its action,
   * ports or protocol; `exact: false` leaves the EXACT entry out (`'*.' + suffix` then gives the rules covering
   * the whole wildcard). For tools (the compiler's warnings), not for decisions.
   */
  candidateRules(name: string, exact = true): number[] {
    const out = new Set<number>();
    for (const set of this.nameCandidates(name, exact)) this.forEachRule(set, true, (r) => out.add(r));
    return [...out].sort((a, b) => a - b);
  }

  /**
   * The sets of the name candidates of normalised `name`: versions 1 and 2 the EXACT entry (unless `exact` is false),
   * then the WILD entry of each suffix; version 3 only the first of these found (its set carries the rest).
   */
  private nameCandidates(name: string, exact = true): number[] {
    if (this.s.version >= 3) {
      if ((isAscii(name) ? name.length : utf8.encode(name).length) > 253) return []; // no name: no candidates
      const first = (table: 'exact' | 'wild', key: string): number | null =>
        this.find3(table, key, isAscii(key) ? null : utf8.encode(key));
      const set = exact ? first('exact', name) : null;
      if (set !== null) return [set];
      for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) {
        const w = first('wild', name.slice(i + 1));
        if (w !== null) return [w];
      }
      return [];
    }
    const out = exact ? [this.lookup('exact', name)] : [];
    for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1))
      out.push(this.lookup('wild', name.slice(i + 1)));
    return out;
  }

  /**
   * Calls f for every rule index (< rule_count) of a set: a RULESETS word index, or for a name set (`name`) of version 3
   * also `SET_INLINE | rule` (interval sets are word indices in every version).
   */
  private forEachRule(set: number, name: boolean, f: (rule: number) => void): void {
    if (name && this.s.version >= 3 && set >= SET_INLINE) {
      const r = set - SET_INLINE;
      if (r < this.raw.length) f(r);
      return;
    }
    const words = this.s[Section.RULESETS];
    if (set === 0 || set >= words.count) return;
    const n = this.view.getUint32(words.offset + set * 4, true);
    if (set + 1 + n > words.count) return;
    for (let k = 0; k < n; k++) {
      const r = this.view.getUint32(words.offset + (set + 1 + k) * 4, true);
      if (r < this.raw.length) f(r);
    }
  }

  /** Set of the IP interval containing `a` (version 1: binary search for the last start ≤ a; 2: the trees). */
  intervalSet(a: Addr): number {
    const iv = this.s[a.v === 4 ? Section.V4_INTERVALS : Section.V6_INTERVALS];
    const size = a.v === 4 ? 8 : 24;
    if (this.s.version >= 2) {
      const s = this.s;
      const k =
        a.v === 4
          ? v4TreeFind(this.view, iv, s[Section.V4_INDEX], a.n)
          : v6TreeFind(this.view, iv, s[Section.V6_KEYS], s[Section.V6_INDEX], a.n);
      return this.view.getUint32(iv.offset + k * size + (a.v === 4 ? 4 : 16), true);
    }
    const le = (k: number): boolean => {
      const o = iv.offset + k * size;
      if (a.v === 4) return this.view.getUint32(o, true) <= a.n;
      const start = (this.view.getBigUint64(o, false) << 64n) | this.view.getBigUint64(o + 8, false);
      return start <= a.n;
    };
    let lo = 0;
    let hi = iv.count - 1; // start of interval 0 is 0 (validated), so the answer is in [0, count)
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (le(mid)) lo = mid;
      else hi = mid - 1;
    }
    return this.view.getUint32(iv.offset + lo * size + (a.v === 4 ? 4 : 16), true);
  }

  /** Lowest rule index with `action` in any of `sets` that matches the use, or null. */
  private lowestMatch(
    sets: number[],
    name: boolean,
    action: number,
    port: number | undefined,
    proto: QueryProto | undefined,
  ): number | null {
    let best: number | null = null;
    for (const set of sets) {
      this.forEachRule(set, name, (r) => {
        if (best !== null && r >= best) return;
        const rule = this.raw[r]!;
        if (rule.action === action && this.matchesUse(rule, port, proto)) best = r;
      });
    }
    return best;
  }

  /** docs/FORMAT.md "A rule matches the use". */
  private matchesUse(rule: RawRule, port: number | undefined, proto: QueryProto | undefined): boolean {
    if (proto !== undefined && (rule.proto & (proto === 'tcp' ? 1 : 2)) === 0) return false;
    if (rule.action === 1 && proto === undefined && rule.proto !== 3) return false;
    if (rule.portsCount === 0) return true;
    if (port === undefined) return rule.action === 0;
    const p = this.s[Section.PORTS].offset;
    for (let i = 0; i < rule.portsCount; i++) {
      const o = p + (rule.portsFirst + i) * 4;
      if (port >= this.view.getUint16(o, true) && port <= this.view.getUint16(o + 2, true)) return true;
    }
    return false;
  }

  private portRanges(r: RawRule): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const p = this.s[Section.PORTS].offset;
    for (let i = 0; i < r.portsCount; i++) {
      const o = p + (r.portsFirst + i) * 4;
      out.push([this.view.getUint16(o, true), this.view.getUint16(o + 2, true)]);
    }
    return out;
  }

  private result(decision: Decision, index: number): DecisionResult {
    return { decision, rule: this.names[index]!, ruleIndex: index };
  }
}

export function loadCompiled(bytes: Uint8Array, opts: VerifyOptions = {}): CompiledPolicy {
  return new CompiledPolicy(bytes, opts);
}
