#!/usr/bin/env bash
# Runs shellcheck on every shell script of the repository (CTest `shellcheck`, label quick; docs/style.md#cmake).
# The scripts are the tracked files (and new files git does not ignore) that end in .sh or .sbatch, start with a
# bash or sh shebang, or declare `# shellcheck shell=`. Runs from the repository root, where the scripts'
# `# shellcheck source=` directives start. Exit 77 (CTest: Skipped) when shellcheck is not installed.
#   tests/docs/shellcheck.sh [REPO]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck: not installed (apt-get install shellcheck, or tools/install_deps.sh); skipped" >&2
  exit 77
fi

list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard
  else  # a source tree without git: everything but build outputs
    find . \( -path ./.git -o -path './build*' -o -path ./results -o -path ./data \) -prune -o -type f -print0 |
      sed -z 's|^\./||'
  fi
}

scripts=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  case $f in
    *.sh | *.sbatch) scripts+=("$f") ;;
    *.pt | *.h5 | *.png | *.npz | *.gz | *.py | *.cpp | *.h | *.md | *.json | *.txt | *.ini | *.cmake) ;;
    *)
      if head -n 1 "$f" | grep -qE '^#!.*(/|env )(ba)?sh( |$)' ||
        head -n 5 "$f" | grep -q '^# shellcheck shell='; then
        scripts+=("$f")
      fi
      ;;
  esac
done < <(list_files)

if [ ${#scripts[@]} -eq 0 ]; then
  echo "shellcheck: no shell scripts found under $root" >&2
  exit 1
fi
if shellcheck -x "${scripts[@]}"; then
  echo "shellcheck: ${#scripts[@]} scripts clean"
else
  echo "shellcheck: fix the findings above (or justify a '# shellcheck disable=SCxxxx  # why' on the line)" >&2
  exit 1
fi
