/**
 * The checked policy: what `./check.ts` produces from a schema-valid document and `../compile/lower.ts` turns into
 * the writer's input. Everything here is already normalised and valid.
 */
import type { DataPath } from '../parse/source.js';

export type Target =
  /** exact name, normalised */
  | { kind: 'host'; name: string }
  /** `*.suffix`: every name strictly below `suffix` */
  | { kind: 'wildcard'; suffix: string }
  /** inclusive address range (IPv4 as 0…2^32−1); `text` as written */
  | { kind: 'ip'; v: 4 | 6; start: bigint; end: bigint; text: string }
  /** a names file; its names went straight into the compiler's name lists */
  | { kind: 'names-file'; path: string; display: string; exact: number; wild: number };

export type RuleProto = 'tcp' | 'udp' | 'any';

export interface AstRule {
  action: 'allow' | 'deny';
  /** index within its list (`allow[3]`) */
  listIndex: number;
  /** index in the compiled RULES (allow rules first, then deny rules) */
  index: number;
  name: string;
  target: Target;
  /** sorted, merged, inclusive; empty = every port */
  ports: Array<[number, number]>;
  proto: RuleProto;
  line: number;
  col: number;
  path: DataPath;
}

export interface AstBudgets {
  rxBytes: number | null;
  txBytes: number | null;
  totalBytes: number | null;
}

export interface PolicyAst {
  file: string;
  mode: 'audit' | 'enforce';
  loopback: 'allow' | 'deny';
  budgets: AstBudgets;
  rules: AstRule[];
}
