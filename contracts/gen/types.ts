/**
 * Types of the contract specs (`contracts/*.yaml`) as `./load.ts` returns them, and two helpers on them.
 */

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | `u8[${number}]`;

export interface Constant {
  name: string;
  value: number | string; // a string holds a hex u64 ("0xffffffffffffffff")
  doc: string;
}
export interface Bit {
  name: string;
  bit: number;
  doc: string;
}
export interface Field {
  name: string;
  offset: number;
  type: FieldType;
  writer?: string;
  doc?: string;
}

export interface FormatSpec {
  magic: string;
  version: number;
  min_version: number;
  constants: Constant[];
  header: Field[];
  flags: Bit[];
  /** `since`: the first version with the section (1 when absent) */
  sections: { id: number; name: string; element_size: number; since?: number }[];
  enums: Record<string, Record<string, number>>;
  rule_codes: { name: string; code: number; display: string; by: 'reader' | 'interposer'; doc: string }[];
}

export interface ErrorSpec {
  code: string;
  check: number;
  expected_got?: boolean;
  doc: string;
}
export interface ErrorsSpec {
  policy_reader: ErrorSpec[];
}

export interface StateSpec {
  magic: string;
  version: number;
  size: number;
  default_path: string;
  fields: Field[];
  seqlock: { first: number; end: number };
  flags: Bit[];
  trip_budget: Record<string, number>;
  constants: Constant[];
}

export type Reader = 'interposer' | 'agent' | 'proxy' | 'wrapper' | 'cli' | 'cdk' | 'dev';
export interface Invalid {
  use: string; // a value of the variable, or "default"
  fail_closed?: boolean;
  error: string;
}
export interface Variable {
  name: string;
  kind: 'enum' | 'bool' | 'int' | 'path' | 'dest' | 'string';
  values?: string[]; // enum
  keywords?: string[]; // dest
  min?: number; // int
  max?: number;
  default: string | number | boolean | null;
  default_doc?: string;
  invalid?: Invalid;
  readers: Reader[];
  doc: string;
}
export interface ConfigSpec {
  whitespace: string[];
  bool_words: { true: string[]; false: string[] };
  variables: Variable[];
}

export interface LaunchItem {
  name: string;
  word: string;
  values: number;
  doc: string;
}
export interface LaunchSpec {
  magic: string;
  key_tag: string;
  dir: string;
  suffix: string;
  max_size: number;
  key_env: string[];
  items: LaunchItem[];
}

export interface Specs {
  format: FormatSpec;
  errors: ErrorsSpec;
  state: StateSpec;
  config: ConfigSpec;
  launch: LaunchSpec;
}

/** Bytes of a field type. */
export function typeSize(t: FieldType): number {
  const m = /^u8\[(\d+)\]$/.exec(t);
  if (m) return Number(m[1]);
  return { u8: 1, u16: 2, u32: 4, u64: 8 }[t as 'u8' | 'u16' | 'u32' | 'u64'];
}

/** The magic's bytes ("45 47 …"). */
export function magicBytes(hex: string): number[] {
  return hex.split(' ').map((b) => Number.parseInt(b, 16));
}

/** EGRESS_GUARD_LOG_LEVEL -> LOG_LEVEL */
export function varId(v: Variable): string {
  return v.name.replace(/^EGRESS_GUARD_/, '');
}

/** The sentence every implementation reports with a variable's error code (what is valid, what happens instead). */
export function invalidMessage(v: Variable, c: ConfigSpec): string {
  const what =
    v.kind === 'enum'
      ? `one of ${(v.values ?? []).join(', ')}`
      : v.kind === 'bool'
        ? `${c.bool_words.true.join('/')} or ${c.bool_words.false.join('/')}`
        : `a whole number from ${v.min} to ${v.max}`;
  const instead =
    v.invalid?.use === 'default'
      ? `using the default (${v.default_doc ?? String(v.default)})`
      : `treated as ${v.invalid?.use}${v.invalid?.fail_closed ? ', failing closed (nothing but the built-ins is allowed)' : ''}`;
  const spelling = v.kind === 'int' ? 'with blanks around it ignored' : 'in any case, with blanks around it ignored';
  return `${v.name} must be ${what}, ${spelling}; ${instead}`;
}
