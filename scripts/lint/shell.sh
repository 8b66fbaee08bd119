#!/bin/sh
# Shell lint (`npm run lint:sh`): shellcheck over every tracked shell script — files named *.sh, and files whose first
# line is a sh, dash or bash shebang (.ci/run, the proxy extension, bin/egress-guard-run). Each is checked as the shell
# its shebang or `# shellcheck shell=` directive names: the extension as POSIX sh.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "lint:sh: shellcheck is not installed (Debian: apt-get install shellcheck)" >&2
  exit 1
fi
scripts=$(git ls-files | while IFS= read -r f; do
  [ -f "$f" ] || continue
  case "$f" in
    *.sh) printf '%s\n' "$f" ;;
    *) if head -n 1 "$f" 2>/dev/null | grep -qE '^#!(/usr)?/bin/(env )?(sh|dash|bash)$'; then printf '%s\n' "$f"; fi ;;
  esac
done)
# shellcheck disable=SC2086 # one path per word: no tracked script path holds blanks
shellcheck --norc --severity=style $scripts
