/**
 * `PolicySource`: a parsed policy file with positions. Wraps the `yaml` Document so later stages can turn a data
 * path (`['allow', 3, 'ports', 0]`) into `file:line:col` plus the source line, and build diagnostics there.
 *
 * Parsing rules: YAML 1.2 core schema; duplicate keys are errors (`uniqueKeys`); alias expansion is bounded
 * (`maxAliasCount`, billion-laughs input fails with YAML_ALIAS_LIMIT); a file with several documents is an error.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Diagnostic, Severity } from '../diagnostics.js';

export type DataPath = ReadonlyArray<string | number>;

/** Aliases expanded at most this many times in total: enough for any real policy, far from a billion laughs. */
export const MAX_ALIAS_COUNT = 100;

export class PolicySource {
  readonly diagnostics: Diagnostic[] = [];
  /** the plain data, or undefined when the YAML did not parse */
  readonly value: unknown;
  private readonly lc = new LineCounter();
  private readonly doc;
  private readonly lines: string[];

  /**
   * @param file name shown in diagnostics (as the user wrote it)
   * @param realPath where the file really is (names files are resolved next to it); default: `file`
   */
  constructor(
    readonly file: string,
    readonly text: string,
    readonly realPath: string = file,
  ) {
    this.lines = text.split(/\r?\n/);
    this.doc = parseDocument(text, {
      lineCounter: this.lc,
      uniqueKeys: true,
      prettyErrors: false,
      strict: true,
      version: '1.2',
    });
    for (const e of this.doc.errors) {
      const code = e.code === 'DUPLICATE_KEY' ? 'YAML_DUPLICATE_KEY' : 'YAML_SYNTAX';
      const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      this.diagnostics.push(this.diagAt(code, `${msg} (fix the YAML syntax)`, e.pos[0], e.pos[1] - e.pos[0]));
    }
    if (this.doc.errors.length > 0) return;
    try {
      this.value = this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      const alias = /alias/i.test(msg);
      this.diagnostics.push(
        this.diagAt(
          alias ? 'YAML_ALIAS_LIMIT' : 'YAML_SYNTAX',
          alias
            ? `YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} expansions): write the values out instead of nesting aliases`
            : msg,
          this.firstAliasOffset(),
          1,
        ),
      );
    }
  }

  /** Diagnostic at a character offset of this file. */
  diagAt(code: string, message: string, offset: number, length = 1, severity: Severity = 'error'): Diagnostic {
    const { line, col } = this.lc.linePos(Math.max(0, Math.min(offset, this.text.length)));
    const sourceLine = this.lines[line - 1] ?? '';
    return { code, message, file: this.file, line, col, severity, sourceLine, length: Math.max(1, length) };
  }

  /**
   * Diagnostic at a data path: at the value node (or, with `on: 'key'`, at its key). A path that does not exist
   * points at its nearest existing parent.
   */
  diag(code: string, message: string, path: DataPath, on: 'value' | 'key' = 'value', severity: Severity = 'error') {
    const r = this.range(path, on);
    return this.diagAt(code, message, r[0], r[1] - r[0], severity);
  }

  /** [start, end) character range of the node at `path` (value or key), falling back to the nearest parent. */
  range(path: DataPath, on: 'value' | 'key' = 'value'): [number, number] {
    for (let n = path.length; n >= 0; n--) {
      const r = this.exactRange(path.slice(0, n), n === path.length ? on : 'value');
      if (r) return r;
    }
    return [0, 1];
  }

  /** 1-based line and column of the node at `path`. */
  pos(path: DataPath): { line: number; col: number } {
    return this.lc.linePos(this.range(path)[0]);
  }

  private exactRange(path: DataPath, on: 'value' | 'key'): [number, number] | null {
    let node: unknown = this.doc.contents;
    let keyNode: unknown = null;
    for (const seg of path) {
      keyNode = null;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return null;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else {
        return null;
      }
    }
    const target = on === 'key' && keyNode ? keyNode : node;
    const range = (target as Node | null | undefined)?.range;
    if (!range) {
      const kr = (keyNode as Node | null)?.range;
      return kr ? [kr[0], kr[1]] : null;
    }
    // A block collection's range may end after trailing newlines: underline its first line only.
    const end = Math.min(range[1], this.lineEnd(range[0]));
    return [range[0], Math.max(end, range[0] + 1)];
  }

  private lineEnd(offset: number): number {
    const nl = this.text.indexOf('\n', offset);
    return nl < 0 ? this.text.length : nl;
  }

  private firstAliasOffset(): number {
    const m = /\*[^\s,\]}]+/.exec(this.text);
    return m ? m.index : 0;
  }
}
