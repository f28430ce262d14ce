#!/usr/bin/env bash
# One-command setup on Debian 12 (bookworm): installs the packages of DESIGN.md's table that are
# missing, makes OpenBLAS the BLAS that LibTorch calls, then configures and builds with CMake + Ninja.
# Idempotent: a second run installs nothing and the build is a no-op.
#
#   bash scripts/setup.sh [PRESET] [--peers]
#     PRESET   CMake preset to build: release (default), debug, asan, or torch2: LibTorch 2.x with CUDA
#              from PyPI's torch wheel (pinned, checksummed, unpacked into ~/.cache/lab-torch2; needs the
#              CUDA toolkit, nvcc on PATH or CUDA_HOME set; builds and tests on a CPU-only machine too)
#     --peers  also install python3-networkx, which only the benchmarks' Python peers need
#  torch2 also makes ~/.cache/lab-torch2/venv-2.11.0, a Python with the same wheel's PyTorch (and its
#  pure-Python dependencies from PyPI): the torch2 suite's interop tests run python/ with it, and
#  bench/train_bench --peer2 the PyTorch 2.11 peers
set -euo pipefail
cd "$(dirname "$0")/.."

preset=release
peers=0
for arg in "$@"; do
  case "$arg" in
    --peers) peers=1 ;;
    release|debug|asan|torch2) preset=$arg ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected release, debug, asan, torch2 or --peers)" >&2; exit 2 ;;
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
if [ "$preset" = torch2 ]; then packages+=(python3-pip unzip); fi

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

# torch2: PyPI's torch wheel holds a CUDA-enabled LibTorch (headers, CMake package, libraries); three
# libraries it links that the CUDA toolkit lacks come as their own nvidia-* wheels. The wheels are
# pinned by version and SHA-256 (torch 2.11.0 is built against CUDA 13.0, cuDNN 9.19 and NCCL 2.28.9,
# what this machine's toolkit has) and unpacked side by side, where the libraries' RUNPATH
# ($ORIGIN/../../nvidia/...) finds the nvidia ones: no LD_LIBRARY_PATH needed.
torch2_dir="$HOME/.cache/lab-torch2/torch-2.11.0"  # also in CMakePresets.json's torch2 preset
torch2_wheels=(
  "torch==2.11.0 7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a"
  "nvidia-cusparselt-cu13==0.8.0 25e30a8a7323935d4ad0340b95a0b69926eee755767e8e0b1cf8dd85b197d3fd"
  "nvidia-nvshmem-cu13==3.4.5 290f0a2ee94c9f3687a02502f3b9299a9f9fe826e6d0287ee18482e78d495b80"
  "nvidia-cufile==1.15.1.6 08a3ecefae5a01c7f5117351c64f17c7c62efa5fffdbe24fc7d298da19cd0b44"
)
torch2_wheels_dir="$HOME/.cache/lab-torch2/wheels"
wheel_with_sha() {  # the name of the downloaded wheel whose SHA-256 is $1; nothing if there is none
  local f
  for f in "$torch2_wheels_dir"/*.whl; do
    [ -f "$f" ] || continue
    if [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$1" ]; then basename "$f"; return; fi
  done
}
fetch_torch2() {
  # (a cache from before the Python package was unpacked too lacks torch/__init__.py: unpacked again)
  [ -f "$torch2_dir/.complete" ] && [ -f "$torch2_dir/torch/__init__.py" ] && return
  local wheels="$torch2_wheels_dir" partial="$torch2_dir.partial"
  mkdir -p "$wheels"
  echo "setup.sh: fetching LibTorch 2.11.0 (PyPI's torch wheel, ~730 MB with three nvidia-* wheels) into $wheels"
  local entry spec sha file
  for entry in "${torch2_wheels[@]}"; do
    spec=${entry% *} sha=${entry#* }
    file=$(wheel_with_sha "$sha")
    if [ -z "$file" ]; then
      local name=${spec%%==*}
      rm -f "$wheels/${name//-/_}-"*.whl  # a torn or foreign copy pip would otherwise take as downloaded
      /usr/bin/python3 -m pip download -q "$spec" --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$wheels"
      file=$(wheel_with_sha "$sha")
      if [ -z "$file" ]; then
        echo "setup.sh: $spec downloaded from PyPI does not have the pinned SHA-256 $sha; not used" >&2
        exit 1
      fi
    fi
    if [ "${spec%%==*}" = torch ]; then
      rm -rf "$partial" && mkdir -p "$partial"
      unzip -q "$wheels/$file" -d "$partial"  # LibTorch (torch/{include,lib,share}) and the Python package
    else
      unzip -q -o "$wheels/$file" 'nvidia/*' -d "$partial"
    fi
  done
  touch "$partial/.complete"
  rm -rf "$torch2_dir" && mv "$partial" "$torch2_dir"
}
if [ "$preset" = torch2 ]; then
  export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
  if [ ! -x "$CUDA_HOME/bin/nvcc" ]; then
    echo "setup.sh: torch2 needs the CUDA toolkit: no nvcc at $CUDA_HOME/bin/nvcc (set CUDA_HOME)" >&2
    exit 1
  fi
  fetch_torch2
fi

# PyTorch 2.11 in Python (the torch2 preset's LAB_PYTHON for the interop tests; bench/train_bench
# --peer2): a venv whose site-packages points at the unpacked wheel (a .pth file: no second copy of
# its 1.1 GB) with torch's pure-Python dependencies and numpy from PyPI. Its CUDA libraries resolve as
# LibTorch's do; on a CPU-only machine torch.cuda is simply unavailable.
torch2_venv="$HOME/.cache/lab-torch2/venv-2.11.0"  # also in CMakePresets.json's torch2 preset
if [ "$preset" = torch2 ] && ! "$torch2_venv/bin/python3" -c "import torch, sympy, numpy" 2>/dev/null; then
  echo "setup.sh: making $torch2_venv (PyTorch 2.11 for the benchmarks' peers)"
  rm -rf "$torch2_venv"
  /usr/bin/python3 -m venv "$torch2_venv"
  echo "$torch2_dir" > "$("$torch2_venv/bin/python3" -c 'import site; print(site.getsitepackages()[0])')/lab-torch2.pth"
  "$torch2_venv/bin/pip" install -q --no-warn-conflicts filelock 'typing-extensions>=4.10.0' 'setuptools<82' \
    'sympy>=1.13.3' 'networkx>=2.5.1' jinja2 'fsspec>=0.8.5' numpy
  "$torch2_venv/bin/python3" -c "import torch; assert torch.__version__.startswith('2.11.0'), torch.__version__"
fi

if [ ! -f "build/${preset}/build.ninja" ]; then
  cmake --preset "$preset"
fi
cmake --build --preset "$preset"

# The check the build cannot make: the BLAS the built binary actually calls (`lab --version` names it).
# (PyPI's LibTorch carries its own: MKL, inside libtorch_cpu.)
if [ "$preset" != torch2 ] && ! "build/${preset}/lab" --version | grep -q '^blas: OpenBLAS'; then
  echo "setup.sh: build/${preset}/lab does not call OpenBLAS ('lab --version' says: $("build/${preset}/lab" --version | grep '^blas:')); fp32 products would be ~27x slower" >&2
  exit 1
fi
