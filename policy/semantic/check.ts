/**
 * Semantic checks of a schema-valid policy document, producing the checked `PolicyAst` and every diagnostic at
 * once (file:line:col each). Names files are read here and their names go straight into `lists` (the compiler's
 * name tables), tagged with the rule's final index (allow rules first, then deny rules).
 *
 * Checks: rule targets (exactly one of host/cidr/ip/hosts_file; syntax of each; wildcard form), ports (1–65535,
 * `lo ≤ hi`), rule names (form, reserved, unique), budgets (size syntax and units), explicit empty values, and an
 * enforce-mode policy without allow rules. Warnings (shadowed / cancelled rules) are in `./warnings.ts`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import type { NameList } from '../format/ir.js';
import type { DataPath, PolicySource } from '../parse/source.js';
import type { PolicyDoc, RuleObject, RuleSpec } from '../schema/types.js';
import { describePath } from '../schema/validate.js';
import type { AstBudgets, AstRule, PolicyAst, RuleProto, Target } from './ast.js';
import { scanNamesFile } from './names-file.js';
import { mergePorts, parsePort } from './ports.js';
import { parseSize } from './sizes.js';
import { isProblem, parseHost, parseIpTarget, parseShorthandDest, splitShorthand } from './target.js';

export interface NameLists {
  exact: NameList;
  wild: NameList;
}

const TARGET_KEYS = ['host', 'cidr', 'ip', 'hosts_file'] as const;
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]*$/;

export function checkPolicy(
  src: PolicySource,
  doc: PolicyDoc,
  lists: NameLists,
  /** rules to pass over (`"allow/3"`): the schema already reported them */
  skip: ReadonlySet<string> = new Set(),
): { ast: PolicyAst | null; diagnostics: Diagnostic[] } {
  const ds: Diagnostic[] = [];
  const rules: AstRule[] = [];
  const allow = doc.allow ?? [];
  const deny = doc.deny ?? [];
  const lists2: Array<['allow' | 'deny', RuleSpec[]]> = [
    ['allow', allow],
    ['deny', deny],
  ];
  for (const [action, specs] of lists2) {
    for (let i = 0; i < specs.length; i++) {
      const index = action === 'allow' ? i : allow.length + i;
      if (skip.has(`${action}/${i}`)) continue;
      const r = checkRule(src, action, i, index, specs[i]!, lists, ds);
      if (r) rules.push(r);
    }
  }
  checkNames(src, rules, ds);

  const mode = doc.mode ?? 'audit';
  for (const k of ['mode', 'loopback', 'budgets'] as const) {
    if (doc[k] === null)
      ds.push(src.diag('VALUE_EMPTY', `\`${k}\` has no value: give one or remove the key`, [k], 'key'));
  }
  if (doc.budgets?.perInvoke === null) {
    ds.push(
      src.diag(
        'VALUE_EMPTY',
        '`perInvoke` has no value: give budgets or remove the key',
        ['budgets', 'perInvoke'],
        'key',
      ),
    );
  }
  if (mode === 'enforce' && allow.length === 0) {
    ds.push(
      src.diag(
        'POLICY_EMPTY_ALLOW',
        'enforce mode with no `allow` rules blocks every destination: add allow rules, or use `mode: audit` first',
        ['mode'],
      ),
    );
  }
  const budgets = checkBudgets(src, doc, ds);
  const ok = !ds.some((d) => d.severity === 'error');
  return {
    ast: ok ? { file: src.file, mode, loopback: doc.loopback ?? 'allow', budgets, rules } : null,
    diagnostics: ds,
  };
}

/** What a rule says, before it gets its place (action, indexes, position) in the AST. */
interface RuleParts {
  target: Target;
  ports: Array<[number, number]>;
  proto: RuleProto;
  name?: string;
}

function checkRule(
  src: PolicySource,
  action: 'allow' | 'deny',
  listIndex: number,
  index: number,
  spec: RuleSpec,
  lists: NameLists,
  ds: Diagnostic[],
): AstRule | null {
  const p: DataPath = [action, listIndex];
  const parts =
    typeof spec === 'string' ? checkShorthand(src, p, spec, ds) : checkRuleObject(src, p, spec, index, lists, ds);
  if (!parts) return null;
  const base = src.pos(p);
  return {
    action,
    listIndex,
    index,
    name: parts.name ?? `${action}[${listIndex}]`,
    target: parts.target,
    ports: mergePorts(parts.ports),
    proto: parts.proto,
    line: base.line,
    col: base.col,
    path: p,
  };
}

/** The string form `host[:port]`: every problem reported; null when there was one. */
function checkShorthand(src: PolicySource, p: DataPath, spec: string, ds: Diagnostic[]): RuleParts | null {
  const parts = splitShorthand(spec);
  if (isProblem(parts)) {
    ds.push(src.diag(parts.code, parts.message, p));
    return null;
  }
  const target = parseShorthandDest(parts.dest);
  let ports: Array<[number, number]> = [];
  let bad = false;
  if (isProblem(target)) {
    ds.push(src.diag(target.code, target.message, p));
    bad = true;
  }
  if (parts.port !== null) {
    const pr = parsePort(parts.port);
    if ('code' in pr) {
      ds.push(src.diag(pr.code, pr.message, p));
      bad = true;
    } else ports = [pr.ok];
  }
  return bad || isProblem(target) ? null : { target, ports, proto: 'any' };
}

/** The mapping form: no empty value, exactly one destination, valid ports and name; null after any error. */
function checkRuleObject(
  src: PolicySource,
  p: DataPath,
  obj: RuleObject,
  index: number,
  lists: NameLists,
  ds: Diagnostic[],
): RuleParts | null {
  let bad = false;
  for (const [k, v] of Object.entries(obj)) {
    if (v === null) {
      ds.push(src.diag('VALUE_EMPTY', `\`${k}\` has no value: give one or remove the key`, [...p, k], 'key'));
      bad = true;
    }
  }
  if (bad) return null;
  const target = checkRuleTarget(src, p, obj, index, lists, ds);
  if (target === undefined) return null;
  const ports: Array<[number, number]> = [];
  (obj.ports ?? []).forEach((ps, j) => {
    const pr = parsePort(ps);
    if ('code' in pr) ds.push(src.diag(pr.code, pr.message, [...p, 'ports', j]));
    else ports.push(pr.ok);
  });
  if (obj.name !== undefined && !RULE_NAME.test(obj.name)) {
    ds.push(
      src.diag(
        'RULE_NAME_INVALID',
        `rule name ${JSON.stringify(obj.name)} may use letters, digits and . _ : @ / + - (starting with a letter or digit)`,
        [...p, 'name'],
      ),
    );
  }
  if (!target) return null;
  return { target, ports, proto: obj.proto ?? 'any', name: obj.name };
}

/**
 * The rule's one destination (host, cidr, ip or hosts_file). undefined: none or several (reported; the rule's other
 * keys are not checked); null: the destination itself is invalid (reported; ports and name are still checked).
 */
function checkRuleTarget(
  src: PolicySource,
  p: DataPath,
  obj: RuleObject,
  index: number,
  lists: NameLists,
  ds: Diagnostic[],
): Target | null | undefined {
  const present = TARGET_KEYS.filter((k) => obj[k] !== undefined);
  if (present.length === 0) {
    ds.push(
      src.diag(
        'RULE_NO_TARGET',
        `${describePath(p)} names no destination: give exactly one of host, cidr, ip, hosts_file`,
        p,
      ),
    );
    return undefined;
  }
  if (present.length > 1) {
    ds.push(
      src.diag(
        'RULE_MANY_TARGETS',
        `${describePath(p)} has ${present.join(' and ')}: a rule has exactly one destination; split it into ${present.length} rules`,
        [...p, present[1]!],
        'key',
      ),
    );
    return undefined;
  }
  const key = present[0]!;
  const value = obj[key]!;
  if (key === 'hosts_file') return loadNamesFile(src, value, [...p, key], index, lists, ds);
  const t = key === 'host' ? parseHost(value) : parseIpTarget(value, key);
  if (!isProblem(t)) return t;
  ds.push(src.diag(t.code, t.message, [...p, key]));
  return null;
}

function loadNamesFile(
  src: PolicySource,
  rel: string,
  at: DataPath,
  rule: number,
  lists: NameLists,
  ds: Diagnostic[],
): Target | null {
  const resolved = path.resolve(path.dirname(path.resolve(src.realPath)), rel);
  const display = path.isAbsolute(rel) ? rel : path.join(path.dirname(src.file), rel);
  let data: Uint8Array;
  try {
    data = readFileSync(resolved);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    ds.push(
      src.diag(
        'NAMES_FILE_MISSING',
        `cannot read names file ${JSON.stringify(rel)} (${code ?? 'error'}; looked for ${resolved}): paths are relative to the policy file`,
        at,
      ),
    );
    return null;
  }
  const r = scanNamesFile(data, display, rule, lists.exact, lists.wild);
  ds.push(...r.diagnostics);
  if (r.exact + r.wild === 0 && r.diagnostics.length === 0) {
    ds.push(src.diag('NAMES_FILE_EMPTY', `names file ${JSON.stringify(rel)} holds no names`, at, 'value', 'warning'));
  }
  return { kind: 'names-file', path: resolved, display, exact: r.exact, wild: r.wild };
}

/** Rule names: unique across both lists (explicit and default ids), and not a reserved word. */
function checkNames(src: PolicySource, rules: AstRule[], ds: Diagnostic[]): void {
  const seen = new Map<string, AstRule>();
  for (const r of rules) {
    const explicit = r.name !== `${r.action}[${r.listIndex}]`;
    if (explicit && !RULE_NAME.test(r.name)) continue; // already RULE_NAME_INVALID
    if (explicit && (r.name === 'default' || r.name.startsWith('builtin:') || /^(allow|deny)\[\d+\]$/.test(r.name))) {
      ds.push(
        src.diag(
          'RULE_NAME_RESERVED',
          `rule name ${JSON.stringify(r.name)} is reserved (default, builtin:…, allow[N], deny[N]): choose another`,
          [...r.path, 'name'],
        ),
      );
      continue;
    }
    const prev = seen.get(r.name);
    if (prev) {
      ds.push(
        src.diag(
          'RULE_NAME_DUPLICATE',
          `rule name ${JSON.stringify(r.name)} is already used on line ${prev.line}: rule names must be unique`,
          [...r.path, 'name'],
        ),
      );
    } else seen.set(r.name, r);
  }
}

function checkBudgets(src: PolicySource, doc: PolicyDoc, ds: Diagnostic[]): AstBudgets {
  const out: AstBudgets = { rxBytes: null, txBytes: null, totalBytes: null };
  const b = doc.budgets?.perInvoke;
  if (!b) return out;
  for (const k of ['rxBytes', 'txBytes', 'totalBytes'] as const) {
    const v = b[k];
    if (v === undefined) continue;
    const at: DataPath = ['budgets', 'perInvoke', k];
    if (v === null) {
      ds.push(src.diag('VALUE_EMPTY', `\`${k}\` has no value: give a size such as 50MiB, or remove it`, at, 'key'));
      continue;
    }
    const r = parseSize(v);
    if ('code' in r) ds.push(src.diag(r.code, r.message, at));
    else out[k] = r.ok;
  }
  return out;
}
