#!/usr/bin/env bash
# The lab's CUDA checks in one go, for a machine with an NVIDIA GPU; prints one summary (under 10 min).
#
#   bash scripts/gpu_check.sh [--build DIR] [--out DIR]    on the GPU machine
#   bash scripts/gpu_check.sh --pack [DIR] [--build DIR]   here: a build to carry there (see below)
#
# What it runs, each step timed, a failure not stopping the rest:
#   1. the GPU (nvidia-smi) and `lab --version` (must list a CUDA device)
#   2. the model tests on CUDA: the MoE layer against the CPU layer, its bit-identical reruns, lab's
#      combine kernel against its CPU twin, at::_grouped_mm in bf16, and the CPU paths they rest on
#   3. the trainer on CUDA: dense and MoE training against the CPU, a resumed GPU run byte-identical
#   4. `lab run smoke` with train.device=cuda (every dataset, training, probe and report of the preset)
#   5. bench/moe_bench and bench/train_bench with --device cuda (bf16 MoE against dense; whole steps)
#
# The build: DIR (default build/torch2), made by `bash scripts/setup.sh torch2` on that machine, or
# carried to it: `--pack` copies the build's programs and the shared libraries they need that are
# neither LibTorch, CUDA nor the C and C++ runtimes into .gpu-carry/ (git ignores it; the GPU
# machine's libstdc++ must be as new as this one's, Debian 12's GCC 12). There, LibTorch 2.11 is
# the torch2 cache's if present, else the torch package of python3 (it must be 2.11.0: the ABI the
# build was compiled against), found through LD_LIBRARY_PATH.
#
# --out DIR keeps the logs, the smoke run and the benchmarks' JSON (default: a temporary folder).
set -uo pipefail
cd "$(dirname "$0")/.."

build=build/torch2
out=
pack=
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --pack) pack=.gpu-carry; if [ $# -gt 1 ] && [[ "$2" != --* ]]; then pack=$2; shift; fi; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (expected --build DIR, --out DIR or --pack [DIR])" >&2; exit 2 ;;
  esac
done

programs=(lab tests/models_tests tests/trainer_tests bench/moe_bench bench/train_bench)

if [ -n "$pack" ]; then
  for p in "${programs[@]}"; do
    [ -x "$build/$p" ] || { echo "gpu_check.sh: $build/$p is missing: bash scripts/setup.sh torch2 first" >&2; exit 2; }
  done
  rm -rf "$pack" && mkdir -p "$pack/lib"
  for p in "${programs[@]}"; do
    mkdir -p "$pack/$(dirname "$p")" && cp "$build/$p" "$pack/$p" && strip --strip-debug "$pack/$p"
    # Shared libraries from the system (fmt, sqlite, gtest, benchmark, gomp...), not LibTorch's or CUDA's.
    ldd "$build/$p" | awk '/=> \// {print $3}' | grep -v -E '/torch/lib/|/nvidia/|/cuda|lib(c|m|dl|rt|pthread|util|resolv|anl|gcc_s|stdc\+\+)\.so' |
      while read -r lib; do cp -n "$lib" "$pack/lib/"; done
  done
  echo "gpu_check.sh: packed $(du -sh "$pack" | cut -f1) into $pack; on the GPU machine: bash scripts/gpu_check.sh --build $pack"
  exit 0
fi

[ -n "$out" ] || out=$(mktemp -d /tmp/gpu_check.XXXXXX)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# LibTorch and the build's own libraries at run time.
torch_lib="$HOME/.cache/lab-torch2/torch-2.11.0/torch/lib"
if [ ! -d "$torch_lib" ]; then
  torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)
  version=$(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)
  case "$version" in
    2.11.0*) ;;
    *) echo "gpu_check.sh: need LibTorch 2.11.0 (the torch2 cache or python3's torch), found '${version:-none}'" >&2; exit 2 ;;
  esac
  # The nvidia-* packages beside torch hold cuDNN, NCCL, cuBLAS... (torch/lib's RUNPATH finds them too).
  for d in "$(dirname "$torch_lib")"/../nvidia/*/lib; do [ -d "$d" ] && torch_lib="$torch_lib:$d"; done
fi
[ -d "$build" ] || { echo "gpu_check.sh: no build at $build (bash scripts/setup.sh torch2, or --pack one here)" >&2; exit 2; }
build=$(cd "$build" && pwd)
export LD_LIBRARY_PATH="$build/lib:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LAB_TEST_BINARY="$build/lab"  # the tests' `lab`, wherever this copy of the tree is
lab="$build/lab"

summary=()
step() {  # step NAME COMMAND...: runs it, logs to $out/NAME.log, records ok/FAILED and its seconds
  local name=$1; shift
  local start=$SECONDS
  echo "== $name: $*"
  if "$@" >"$out/$name.log" 2>&1; then
    summary+=("$(printf '%-14s ok      %4d s' "$name" $((SECONDS - start)))")
  else
    summary+=("$(printf '%-14s FAILED  %4d s  (%s)' "$name" $((SECONDS - start)) "$out/$name.log")")
    tail -n 20 "$out/$name.log"
  fi
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1 ||
  { echo "gpu_check.sh: no NVIDIA GPU here (nvidia-smi: $(cat "$out/gpu.txt"))" >&2; exit 2; }
[ -x "$lab" ] || { echo "gpu_check.sh: no build at $build (bash scripts/setup.sh torch2, or --pack one here)" >&2; exit 2; }

step version bash -c "'$lab' --version && '$lab' --version | grep -q '^devices: cpu, cuda'"
step model-tests "$build/tests/models_tests" --gtest_filter='Cuda.*:BatchedExperts.*:CombineRows.*:MoeLayer*'
step trainer-tests "$build/tests/trainer_tests" --gtest_filter='TrainOnCuda.*'
step smoke "$lab" run smoke --out "$out/smoke" train.device=cuda
step moe-bench "$build/bench/moe_bench" --device cuda --benchmark_out="$out/moe_bench.json" --benchmark_out_format=json
step train-bench "$build/bench/train_bench" --device cuda --benchmark_out="$out/train_bench.json" --benchmark_out_format=json

echo
echo "gpu_check.sh summary ($(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
echo "GPU: $(cat "$out/gpu.txt")"
grep -E '^(libtorch|devices):' "$out/version.log" | sed 's/^/  /'
for line in "${summary[@]}"; do echo "  $line"; done
for t in model-tests trainer-tests; do  # GoogleTest's closing counts, then what skipped or failed
  echo "$t: $(grep -E '^\[  (PASSED  |SKIPPED |FAILED  )\] [0-9]+ tests?' "$out/$t.log" | tr '\n' ' ')"
  grep -E '^\[  (SKIPPED |FAILED  )\] [A-Za-z0-9_/]+\.[A-Za-z0-9_/]+$' "$out/$t.log" | sed 's/^/  /'
done
[ -f "$out/smoke/results.csv" ] && echo "smoke: $(($(wc -l < "$out/smoke/results.csv") - 1)) runs in results.csv"
for b in moe-bench train-bench; do
  echo "$b:"
  grep -E '^(moe_ffn|dense_ffn|gpu_)' "$out/$b.log" | sed 's/^/  /'
done
echo "logs: $out"
for line in "${summary[@]}"; do [[ "$line" == *FAILED* ]] && exit 1; done
exit 0
