#!/bin/sh
# C static analysis (`npm run lint:c`): clang-tidy with native/.clang-tidy over every .c file of the shipped C
# (native/src, native/agent, native/proxy, native/launcher, native/wrapper), with the include paths and defines of native/Makefile. Prints nothing when
# clean; exits 1 with the findings otherwise.
# A file's clean result is cached in native/build/tidy/ under a hash of everything its analysis depends on (the file,
# every header of those directories, the checks, the flags, the clang-tidy version), so a re-run only analyses what
# changed; the files run in parallel, one per core.
set -eu
cd "$(dirname "$0")/../../native"
if ! command -v clang-tidy >/dev/null 2>&1; then
  echo "lint:c: clang-tidy is not installed (Debian: apt-get install clang-tidy)" >&2
  exit 1
fi
CACHE=build/tidy
BASE="-std=c11 -DEG_PIN_SYMBOLS -include src/symver.h -Isrc"
if [ -z "${common:-}" ]; then # the parent computes it once; the per-file children inherit it
  mkdir -p "$CACHE"
  common=$( (clang-tidy --version; echo "$BASE"; cat .clang-tidy src/*.h src/gen/*.h src/hooks.def agent/*.h proxy/*.h launcher/*.h launcher/gen/*.h wrapper/*.h) |
    sha256sum | cut -d' ' -f1)
fi

analyse() { # analyse FILE: exit 0 when clean (cached), else print the findings
  f=$1
  case "$f" in
    agent/*) extra=-Iagent ;;
    proxy/*) extra=-Iproxy ;;
    launcher/*) extra=-Ilauncher ;;
    wrapper/*) extra="-Iwrapper -ffreestanding" ;;
    *) extra= ;;
  esac
  key=$( (echo "$common $extra"; cat "$f") | sha256sum | cut -d' ' -f1)
  [ -e "$CACHE/$key" ] && return 0
  # shellcheck disable=SC2086 # the flags are words
  if out=$(clang-tidy --quiet "$f" -- $BASE $extra 2>&1); then
    : >"$CACHE/$key"
  else
    printf '%s\n' "$out" | grep -v -e '^[0-9]* warnings\? generated' -e '^Error while processing' >&2
    return 1
  fi
}

if [ "${1:-}" = "--one" ]; then
  analyse "$2"
  exit
fi
export common
for f in src/*.c agent/*.c proxy/*.c launcher/*.c wrapper/*.c; do printf '%s\0' "$f"; done |
  xargs -0 -P "$(nproc)" -n 1 sh "$(pwd)/../scripts/lint/c-analyze.sh" --one
