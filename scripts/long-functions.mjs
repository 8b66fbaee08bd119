// Lists functions longer than N lines (default 80), longest first: TypeScript through the compiler's parser, C by
// brace depth (comments, strings and character literals blanked first).
//   node scripts/long-functions.mjs [--max N] [dir…]   (default dirs: policy cdk layer native/src native/agent native/proxy)
// Generated code (policy/gen, native/src/gen) and build output are skipped. Exit 0 always: a report, not a gate.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
const at = args.indexOf('--max');
const max = at >= 0 ? Number(args.splice(at, 2)[1]) : 80;
const roots = args.length > 0 ? args : ['policy', 'cdk', 'layer', 'native/src', 'native/agent', 'native/proxy'];
const SKIP = /^(node_modules|build|dist|gen|cdk\.out)$/;

const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (!SKIP.test(e)) walk(p);
    } else if (/\.(ts|c)$/.test(e) && !e.endsWith('.d.ts')) files.push(p);
  }
};
for (const r of roots) walk(r);

const found = [];
const tsFunctions = (file, text) => {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const line = (pos) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const visit = (n) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const lines = line(n.getEnd()) - line(n.getStart()) + 1;
      const name = n.name?.getText() ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText() : '(anonymous)');
      if (lines > max) found.push([lines, `${file}:${line(n.getStart())}`, name]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
};
const cFunctions = (file, text) => {
  const blank = (m) => m.replace(/[^\n]/g, ' ');
  const t = text
    .replace(/\/\*[\s\S]*?\*\//g, blank)
    .replace(/\/\/[^\n]*/g, blank)
    .replace(/"(\\.|[^"\\\n])*"/g, blank)
    .replace(/'(\\.|[^'\\\n])*'/g, blank);
  let depth = 0;
  let line = 1;
  let start;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (ch === '\n') line++;
    else if (ch === '{') {
      if (depth === 0) {
        const before = t.slice(Math.max(0, i - 400), i);
        start = before.trimEnd().endsWith(')')
          ? { line, name: /(\w+)\s*\([^()]*(\([^()]*\)[^()]*)*\)\s*$/.exec(before)?.[1] }
          : undefined;
      }
      depth++;
    } else if (ch === '}' && --depth === 0 && start) {
      const lines = line - start.line + 1;
      if (lines > max) found.push([lines, `${file}:${start.line}`, start.name ?? '?']);
      start = undefined;
    }
  }
};
for (const f of files) (f.endsWith('.ts') ? tsFunctions : cFunctions)(f, readFileSync(f, 'utf8'));
found.sort((a, b) => b[0] - a[0]);
for (const [n, where, name] of found) process.stdout.write(`${String(n).padStart(5)}  ${where}  ${name}\n`);
if (found.length === 0) process.stdout.write(`no function longer than ${max} lines\n`);
