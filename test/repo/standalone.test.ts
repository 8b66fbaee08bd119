/**
 * The repository stands alone: no tracked file cites a file outside it (a sibling `shared/` folder, an absolute
 * `/work/…` path) or an issue tracker entry ("the issue", "issue 12") instead of stating the requirement, and every
 * pointer into docs/LAMBDA.md names a section that exists there.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

function trackedTextFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((f) => f !== '' && !/\.(egp|zip|png|jsonl|bin)$|^package-lock\.json$|(^|\/)corpus\//.test(f));
}

/** Lines of tracked files matching `re`, as `file:line: text`. */
function grep(re: RegExp, files: string[]): string[] {
  const hits: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(join(root, f), 'utf8');
    } catch {
      continue; // deleted in the work tree but still tracked
    }
    if (text.includes('\0')) continue; // binary
    text.split('\n').forEach((line, i) => {
      if (re.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  return hits;
}

const SELF = 'test/repo/standalone.test.ts';

describe('the repository stands alone', () => {
  const files = trackedTextFiles().filter((f) => f !== SELF);

  it('cites no file outside the repository', () => {
    expect(grep(/(^|[^\w.-])shared\/|LAMBDA-FACTS|\/work\//, files)).toEqual([]);
  });

  it('states requirements instead of pointing at issue tracker entries', () => {
    expect(grep(/\bthe issue\b|\b[Ii]ssue #?\d/, files)).toEqual([]);
  });

  it('points into docs/LAMBDA.md only at sections that exist', () => {
    const headings = new Set(
      readFileSync(join(root, 'docs/LAMBDA.md'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('## '))
        .map((l) => l.slice(3).trim()),
    );
    const anchors = new Set([...headings].map(githubAnchor));
    const bad: string[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(join(root, f), 'utf8');
      } catch {
        continue;
      }
      // `docs/LAMBDA.md "Section"` (comments) — the quoted name may wrap onto the next comment line.
      for (const m of text.matchAll(/LAMBDA\.md"?,?\s+"([^"]+)"/g)) {
        const name = (m[1] as string).replace(/\s*\n\s*(\*|#|\/\/)?\s*/g, ' ').trim();
        if (!headings.has(name)) bad.push(`${f}: "${name}"`);
      }
      // [`LAMBDA.md`](LAMBDA.md#anchor) (docs)
      for (const m of text.matchAll(/LAMBDA\.md#([\w-]+)/g)) {
        if (!anchors.has(m[1] as string)) bad.push(`${f}: #${m[1]}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

/** The anchor GitHub gives a Markdown heading. */
function githubAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}
