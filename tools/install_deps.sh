#!/usr/bin/env bash
# Installs every Debian 12 (bookworm) package switchdiff needs to build, test and run its demo.
# Idempotent: quiet and fast when everything is already installed.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
  libboost-program-options-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libstb-dev libzip-dev zlib1g-dev
  python3-torch python3-numpy python3-scipy python3-h5py python3-matplotlib python3-msgpack
  dataset-fashion-mnist
  chromium fonts-dejavu-core  # tests/analysis/test_report.py opens the HTML report in headless chromium
  munge slurmctld slurmd slurm-client
  shellcheck    # tests/docs/shellcheck.sh (CTest shellcheck): every tracked shell script passes it
  clang-format  # the layout of C++ changes before a commit (docs/style.md#commits)
  strace        # tests/faults/test_kill_injection.py: SIGKILL injected at the N-th file system call
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install_deps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install_deps: done"
