#!/usr/bin/env bash
# One-command setup on Debian 12 (bookworm): installs the packages of DESIGN.md's table that are
# missing, makes OpenBLAS the BLAS that LibTorch calls, then configures and builds with CMake + Ninja.
# Idempotent: a second run installs nothing and the build is a no-op.
#
#   bash scripts/setup.sh [PRESET] [--peers]
#     PRESET   CMake preset to build: release (default), debug or asan
#     --peers  also install python3-networkx, which only the benchmarks' Python peers need
set -euo pipefail
cd "$(dirname "$0")/.."

preset=release
peers=0
for arg in "$@"; do
  case "$arg" in
    --peers) peers=1 ;;
    release|debug|asan) preset=$arg ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected release, debug, asan or --peers)" >&2; exit 2 ;;
  esac
done

packages=(
  g++ cmake ninja-build git
  libtorch-dev            # LibTorch 1.13: tensors, autograd, optimizers, c10d
  libgloo-dev             # headers of Gloo, c10d's CPU collectives (ProcessGroupGloo)
  libopenblas0-openmp     # fast fp32 GEMM; the reference BLAS is ~27x slower
  libboost-graph-dev      # BFS, connected components
  libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libsqlite3-dev          # results database
  gnuplot-nox             # plots
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev  # the fuzz preset's compiler and libFuzzer (scripts/fuzz.sh)
  python3 python3-torch python3-numpy python3-venv  # interop tests: python/*.py in PyTorch and numpy
)
if [ "$peers" = 1 ]; then packages+=(python3-networkx); fi

missing=()
for line in "${packages[@]}"; do
  pkg=${line%%#*}
  for p in $pkg; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "setup.sh: need root to run: $*" >&2; exit 1
  fi
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup.sh: all packages present"
fi

# Debian's LibTorch calls libblas.so.3 / liblapack.so.3, which update-alternatives may point at the
# reference Netlib implementation. Pin both to OpenBLAS (OpenMP build, same runtime as LibTorch).
multiarch=$(gcc -print-multiarch)
for lib in blas lapack; do
  name="lib${lib}.so.3-${multiarch}"
  want="/usr/lib/${multiarch}/openblas-openmp/lib${lib}.so.3"
  have=$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p')
  if [ "$have" != "$want" ]; then
    echo "setup.sh: pointing lib${lib}.so.3 at OpenBLAS (was: ${have:-unset})"
    as_root update-alternatives --set "$name" "$want"
  fi
done

# TensorBoard's own event reader, for the interop test of RUN/tb: a venv over Debian's Python (so it
# also sees python3-torch) with PyPI's tensorboard. Without PyPI the test is skipped, and says so.
if ! build/pyenv/bin/python3 -c "import tensorboard" 2>/dev/null; then
  echo "setup.sh: installing tensorboard from PyPI into build/pyenv (for the interop tests)"
  if ! { /usr/bin/python3 -m venv --system-site-packages build/pyenv && build/pyenv/bin/pip install -q tensorboard; }; then
    echo "setup.sh: could not install tensorboard; the test that reads RUN/tb with TensorBoard will be skipped" >&2
  fi
fi

if [ ! -f "build/${preset}/build.ninja" ]; then
  cmake --preset "$preset"
fi
cmake --build --preset "$preset"

# The check the build cannot make: the BLAS the built binary actually calls (`lab --version` names it).
if ! "build/${preset}/lab" --version | grep -q '^blas: OpenBLAS'; then
  echo "setup.sh: build/${preset}/lab does not call OpenBLAS ('lab --version' says: $("build/${preset}/lab" --version | grep '^blas:')); fp32 products would be ~27x slower" >&2
  exit 1
fi
