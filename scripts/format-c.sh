#!/bin/sh
# C formatting with the repository's .clang-format: `npm run format:c` rewrites every tracked C file in place;
# `npm run format:c:check` (--check) changes nothing, lists the files that are not formatted and exits 1 if any.
# Generated files are skipped (native/src/gen/*, native/launcher/gen/*: `npm run gen` writes them;
# native/src/crc32_table.h).
set -eu
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "format:c: clang-format is not installed (Debian: apt-get install clang-format)" >&2
  exit 1
fi
files=$(git ls-files '*.c' '*.h' | grep -v -e '^native/src/gen/' -e '^native/launcher/gen/' -e '^native/src/crc32_table\.h$')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in $files; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
      printf '%s\n' "$f"
      bad=1
    fi
  done
  [ "$bad" = 0 ] || echo "format:c: the files above are not formatted: npm run format:c" >&2
  exit "$bad"
fi
# shellcheck disable=SC2086 # one path per word: no tracked C path holds blanks
clang-format -i $files
