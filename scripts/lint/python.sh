#!/bin/sh
# Python lint (`npm run lint:py`): every tracked .py file — ruff check (rules: ruff.toml), ruff format --check, and
# mypy --strict (mypy.ini). Prints nothing when clean; exits 1 with the findings otherwise.
# The tools are pinned in requirements-lint.txt (.ci/run installs them).
set -eu
cd "$(dirname "$0")/../.."
for tool in ruff mypy; do
  if ! python3 -m "$tool" --version >/dev/null 2>&1; then
    echo "lint:py: $tool is not installed: python3 -m pip install -r requirements-lint.txt" >&2
    exit 1
  fi
done
git ls-files -z '*.py' | xargs -0 python3 -m ruff check --quiet
git ls-files -z '*.py' | xargs -0 python3 -m ruff format --check --quiet
if ! out=$(git ls-files -z '*.py' | xargs -0 python3 -m mypy --no-error-summary 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
