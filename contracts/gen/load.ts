/**
 * `loadSpecs(dir)`: reads `format.yaml`, `errors.yaml`, `state.yaml`, `config.yaml` and `launch.yaml`, validates each against its
 * schema (`./schema.ts`) and cross-checks them. Contract: returns specs every emitter can trust (names unique and
 * well-formed, offsets aligned, inside the record and non-overlapping, bits distinct, defaults among the values) or
 * throws one `SpecError` listing every problem as `file: where: what`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { configSchema, errorsSchema, formatSchema, launchSchema, NAME, stateSchema } from './schema.js';
import {
  type Bit,
  type ConfigSpec,
  type ErrorsSpec,
  type Field,
  type FormatSpec,
  type LaunchSpec,
  type Specs,
  type StateSpec,
  typeSize,
} from './types.js';

export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(readonly problems: string[]) {
    super(`contract specs are invalid:\n  ${problems.join('\n  ')}`);
  }
}

const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
const validators = {
  format: ajv.compile<FormatSpec>(formatSchema),
  errors: ajv.compile<ErrorsSpec>(errorsSchema),
  state: ajv.compile<StateSpec>(stateSchema),
  config: ajv.compile<ConfigSpec>(configSchema),
  launch: ajv.compile<LaunchSpec>(launchSchema),
};

/** Reads `contracts/{format,errors,state,config,launch}.yaml` under `dir` and checks them (see the contract above). */
export function loadSpecs(dir: string): Specs {
  const problems: string[] = [];
  const read = <K extends keyof Specs>(key: K): Specs[K] => {
    const file = `${key}.yaml`;
    let data: unknown;
    try {
      data = parse(readFileSync(join(dir, file), 'utf8'), { uniqueKeys: true, prettyErrors: true });
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
      return undefined as unknown as Specs[K];
    }
    const validate = validators[key];
    if (!validate(data)) {
      for (const err of validate.errors ?? []) problems.push(`${file}: ${describe(err)}`);
      return undefined as unknown as Specs[K];
    }
    return data as Specs[K];
  };
  const specs: Specs = {
    format: read('format'),
    errors: read('errors'),
    state: read('state'),
    config: read('config'),
    launch: read('launch'),
  };
  if (problems.length === 0) {
    checkFormat(specs.format, problems);
    checkErrors(specs.errors, problems);
    checkState(specs.state, problems);
    checkConfig(specs.config, problems);
    checkLaunch(specs.launch, problems);
  }
  if (problems.length > 0) throw new SpecError(problems);
  return specs;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath;
  const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
  return `${where}: ${e.message ?? e.keyword}${extra}`;
}

function unique(what: string, names: string[], problems: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) problems.push(`${what}: ${n} appears twice`);
    seen.add(n);
  }
}

/** Fields naturally aligned, inside [0, size), sorted by offset, non-overlapping. */
function checkLayout(what: string, fields: Field[], size: number, problems: string[]): void {
  unique(
    what,
    fields.map((f) => f.name),
    problems,
  );
  let end = 0;
  for (const f of fields) {
    const n = typeSize(f.type);
    const align = f.type.startsWith('u8[') ? 1 : n;
    if (f.offset % align !== 0) problems.push(`${what}: ${f.name} at ${f.offset} is not ${align}-byte aligned`);
    if (f.offset < end)
      problems.push(`${what}: ${f.name} at ${f.offset} overlaps the field before it (ends at ${end})`);
    if (f.offset + n > size) problems.push(`${what}: ${f.name} runs past the end (${f.offset}+${n} > ${size})`);
    end = f.offset + n;
  }
}

function checkBits(what: string, bits: Bit[], problems: string[]): void {
  unique(
    what,
    bits.map((b) => b.name),
    problems,
  );
  unique(
    what,
    bits.map((b) => `bit ${b.bit}`),
    problems,
  );
}

function checkFormat(f: FormatSpec, problems: string[]): void {
  const headerSize = f.constants.find((c) => c.name === 'HEADER_SIZE')?.value;
  if (typeof headerSize !== 'number') problems.push('format.yaml: constants: HEADER_SIZE (an integer) is required');
  else checkLayout('format.yaml: header', f.header, headerSize, problems);
  unique(
    'format.yaml: constants',
    f.constants.map((c) => c.name),
    problems,
  );
  checkBits('format.yaml: flags', f.flags, problems);
  if (f.min_version > f.version) problems.push('format.yaml: min_version is above version');
  f.sections.forEach((s, i) => {
    if (s.id !== i + 1)
      problems.push(`format.yaml: sections: ${s.name} has id ${s.id}, expected ${i + 1} (ids 1..n, in order)`);
    const since = s.since ?? 1;
    if (since < f.min_version || since > f.version)
      problems.push(`format.yaml: sections: ${s.name} since ${since} is outside min_version..version`);
    if (i > 0 && since < (f.sections[i - 1]!.since ?? 1))
      problems.push(`format.yaml: sections: ${s.name} since ${since} is below the previous section's`);
  });
  unique(
    'format.yaml: sections',
    f.sections.map((s) => s.name),
    problems,
  );
  for (const [e, values] of Object.entries(f.enums)) {
    if (!/^[a-z][a-z0-9_]*$/.test(e)) problems.push(`format.yaml: enums: ${e} is not a lower-case name`);
    for (const v of Object.keys(values)) if (!new RegExp(NAME).test(v)) problems.push(`format.yaml: enums.${e}: ${v}`);
  }
  unique(
    'format.yaml: rule_codes',
    f.rule_codes.map((r) => r.name),
    problems,
  );
  unique(
    'format.yaml: rule_codes',
    f.rule_codes.map((r) => `code ${r.code}`),
    problems,
  );
  unique(
    'format.yaml: rule_codes',
    f.rule_codes.map((r) => r.display),
    problems,
  );
}

function checkErrors(e: ErrorsSpec, problems: string[]): void {
  unique(
    'errors.yaml: policy_reader',
    e.policy_reader.map((x) => x.code),
    problems,
  );
  let prev = 0;
  for (const x of e.policy_reader) {
    if (x.check < prev)
      problems.push(`errors.yaml: ${x.code}: check ${x.check} listed after check ${prev} (keep check order)`);
    prev = x.check;
  }
}

function checkState(s: StateSpec, problems: string[]): void {
  checkLayout('state.yaml: fields', s.fields, s.size, problems);
  checkBits('state.yaml: flags', s.flags, problems);
  unique(
    'state.yaml: constants',
    s.constants.map((c) => c.name),
    problems,
  );
  const byName = new Map(s.fields.map((f) => [f.name, f]));
  for (const need of ['magic', 'version', 'size', 'seq']) {
    if (!byName.has(need)) problems.push(`state.yaml: fields: ${need} is required`);
  }
  if (s.seqlock.first >= s.seqlock.end || s.seqlock.end > s.size)
    problems.push('state.yaml: seqlock: empty or out of range');
}

function checkConfig(c: ConfigSpec, problems: string[]): void {
  unique(
    'config.yaml: variables',
    c.variables.map((v) => v.name),
    problems,
  );
  unique(
    'config.yaml: errors',
    c.variables.flatMap((v) => (v.invalid ? [v.invalid.error] : [])),
    problems,
  );
  for (const v of c.variables) {
    const at = `config.yaml: ${v.name}`;
    const words = v.kind === 'enum' ? (v.values ?? []) : v.kind === 'bool' ? ['true', 'false'] : [];
    if (v.kind === 'enum' && !v.values) problems.push(`${at}: an enum needs values`);
    if (v.kind !== 'enum' && v.values) problems.push(`${at}: only an enum has values`);
    if ((v.kind === 'dest') !== (v.keywords !== undefined)) problems.push(`${at}: keywords go with kind dest only`);
    if ((v.kind === 'int') !== (v.min !== undefined && v.max !== undefined))
      problems.push(`${at}: min/max go with kind int`);
    const parsed = ['enum', 'bool', 'int'].includes(v.kind);
    if (parsed && !v.invalid) problems.push(`${at}: a ${v.kind} needs an invalid behaviour`);
    if (!parsed && v.invalid) problems.push(`${at}: a ${v.kind} is never invalid`);
    if (v.default === null && !v.default_doc) problems.push(`${at}: default null needs a default_doc`);
    if (v.kind === 'bool' && typeof v.default !== 'boolean') problems.push(`${at}: a bool's default is true or false`);
    if (v.kind === 'int' && typeof v.default !== 'number') problems.push(`${at}: an int's default is a number`);
    if (v.kind === 'enum' && v.default !== null && !words.includes(String(v.default))) {
      problems.push(`${at}: default ${String(v.default)} is not one of its values`);
    }
    if (v.invalid && v.invalid.use !== 'default' && !words.includes(v.invalid.use)) {
      problems.push(`${at}: invalid.use ${v.invalid.use} is neither "default" nor one of its values`);
    }
  }
}

function checkLaunch(l: LaunchSpec, problems: string[]): void {
  unique(
    'launch.yaml: items',
    l.items.map((i) => i.name),
    problems,
  );
  unique(
    'launch.yaml: items',
    l.items.map((i) => `word ${i.word}`),
    problems,
  );
  unique('launch.yaml: key_env', l.key_env, problems);
  if (l.items.at(-1)?.name !== 'END') problems.push('launch.yaml: items: the last item must be END');
  if (l.magic === l.key_tag) problems.push('launch.yaml: magic and key_tag must differ');
}
