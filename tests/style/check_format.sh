#!/usr/bin/env bash
# Every tracked C++ file is laid out as .clang-format says (Debian's clang-format). Fails listing the files that
# differ; `clang-format -i FILE` fixes one. Usage: check_format.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
if ! command -v clang-format >/dev/null; then
  echo "clang-format not found: apt-get install clang-format (tools/install_deps.sh installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h')
bad=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
echo "${#files[@]} C++ files checked against .clang-format"
if [ ${#bad[@]} -gt 0 ]; then
  printf 'not formatted: %s\n' "${bad[@]}"
  echo "fix with: clang-format -i ${bad[*]}"
  exit 1
fi
