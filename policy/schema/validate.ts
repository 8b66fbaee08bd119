/**
 * Runs the JSON Schema (`./schema.ts`) with ajv (strict, allErrors) and turns each ajv error into a diagnostic at
 * the YAML node it is about: ajv's `instancePath` (`/allow/3/ports/0`) becomes a data path that `PolicySource`
 * resolves to file:line:col. Unknown keys point at the key itself and suggest the closest allowed key.
 *
 * `anyOf` (string-or-mapping rules, number-or-string ports/sizes) would make ajv report every branch; errors are
 * reduced to the branch whose JSON type matches the data, or to one "must be X or Y" error when none does.
 */
import { Ajv, type ErrorObject } from 'ajv';
import type { Diagnostic } from '../diagnostics.js';
import type { DataPath, PolicySource } from '../parse/source.js';
import { policySchema } from './schema.js';
import type { PolicyDoc } from './types.js';

const ajv = new Ajv({ strict: true, allErrors: true, verbose: true, allowUnionTypes: true });
const validateDoc = ajv.compile(policySchema);

export interface SchemaResult {
  doc: PolicyDoc | null;
  diagnostics: Diagnostic[];
  /** data paths of the offending values (for an unknown key: the key's path) */
  bad: DataPath[];
}

export function checkSchema(src: PolicySource, value: unknown): SchemaResult {
  if (validateDoc(value)) return { doc: value, diagnostics: [], bad: [] };
  const errors = reduceAnyOf(validateDoc.errors ?? []);
  const bad = errors.map((e) => {
    const p = pathOf(e.instancePath);
    return e.keyword === 'additionalProperties' ? [...p, String(e.params.additionalProperty)] : p;
  });
  return { doc: null, diagnostics: errors.map((e) => toDiagnostic(src, e)), bad };
}

/**
 * A copy of `value` without the parts the schema rejected, so the semantic checks can still run on the rest and
 * every problem is reported in one go. A rejected rule is kept in its place (indices stay right) and listed in
 * `skip` (`"allow/3"`); a rejected top-level key is removed. Returns null when nothing sensible is left.
 */
export function withoutBadParts(value: unknown, bad: DataPath[]): { value: unknown; skip: Set<string> } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>), version: 1 };
  const skip = new Set<string>();
  for (const p of bad) {
    const [top, index] = p;
    if (top === undefined) continue;
    if ((top === 'allow' || top === 'deny') && typeof index === 'number') {
      skip.add(`${top}/${index}`);
      const list = [...(copy[top] as unknown[])];
      list[index] = 'skipped.invalid';
      copy[top] = list;
    } else {
      delete copy[String(top)];
    }
  }
  return { value: copy, skip };
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true/false',
  null: 'empty',
};

function branchTypes(e: ErrorObject): string[] {
  const branches = Array.isArray(e.schema) ? (e.schema as Array<{ type?: string }>) : [];
  return branches.map((b) => b.type ?? '?');
}

function reduceAnyOf(errors: ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const e of errors) {
    if (e.keyword !== 'anyOf') continue;
    const types = branchTypes(e);
    const t = jsonType(e.data);
    const matched = types.indexOf(t);
    for (const o of errors) {
      if (o === e || !o.schemaPath.startsWith(`${e.schemaPath}/`)) continue;
      const branch = Number(o.schemaPath.slice(e.schemaPath.length + 1).split('/')[0]);
      // keep only the errors of the branch whose type matches the data
      if (matched < 0 || branch !== matched) drop.add(o);
    }
    if (matched >= 0) drop.add(e);
  }
  return errors.filter((e) => !drop.has(e));
}

function pathOf(instancePath: string): DataPath {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function describePath(path: DataPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out === '' ? 'the policy' : `\`${out}\``;
}

function toDiagnostic(src: PolicySource, e: ErrorObject): Diagnostic {
  const path = pathOf(e.instancePath);
  const where = describePath(path);
  const p = e.params as Record<string, unknown>;
  if (e.data === null && path.length > 0) {
    return src.diag('VALUE_EMPTY', `${where} has no value: give one or remove the key`, path, 'key');
  }
  switch (e.keyword) {
    case 'required': {
      const key = String(p.missingProperty);
      return src.diag('SCHEMA_MISSING_KEY', `${where} needs \`${key}:\` (add \`${key}: 1\` at the top)`, path);
    }
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const near = closest(key, allowed);
      const hint = near ? `did you mean \`${near}\`? ` : '';
      return src.diag(
        'SCHEMA_UNKNOWN_KEY',
        `unknown key \`${key}\` in ${where}: ${hint}allowed keys: ${allowed.join(', ')}`,
        [...path, key],
        'key',
      );
    }
    case 'anyOf': {
      const types = branchTypes(e).map((t) => TYPE_WORDS[t] ?? t);
      return src.diag(
        'SCHEMA_TYPE',
        `${where} must be ${types.join(' or ')}, not ${TYPE_WORDS[jsonType(e.data)] ?? jsonType(e.data)}`,
        path,
      );
    }
    case 'type': {
      const want = String(p.type)
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t);
      return src.diag(
        'SCHEMA_TYPE',
        `${where} must be ${want.join(' or ')}, not ${TYPE_WORDS[jsonType(e.data)] ?? jsonType(e.data)}`,
        path,
      );
    }
    case 'const':
      if (path.length === 1 && path[0] === 'version') {
        return src.diag(
          'SCHEMA_VERSION',
          `unsupported policy version ${JSON.stringify(e.data)}: this compiler reads \`version: 1\``,
          path,
        );
      }
      return src.diag('SCHEMA_CONST', `${where} must be ${JSON.stringify(p.allowedValue)}`, path);
    case 'enum':
      return src.diag(
        'SCHEMA_ENUM',
        `${where} is ${JSON.stringify(e.data)}; it must be one of: ${(p.allowedValues as unknown[]).join(', ')}`,
        path,
      );
    case 'minLength':
    case 'minItems':
      return src.diag('SCHEMA_EMPTY', `${where} is empty: give a value or remove the key`, path);
    case 'maxLength':
      return src.diag('SCHEMA_TOO_LONG', `${where} is longer than ${String(p.limit)} characters`, path);
    case 'minimum':
      return src.diag('SCHEMA_RANGE', `${where} must be ≥ ${String(p.limit)}`, path);
    default:
      return src.diag('SCHEMA_INVALID', `${where} ${e.message ?? 'is invalid'}`, path);
  }
}

/** The allowed key nearest to `key` by edit distance, if it is plausibly a typo. */
function closest(key: string, allowed: string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const a of allowed) {
    const d = editDistance(key.toLowerCase(), a.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
