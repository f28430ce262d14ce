#!/usr/bin/env bash
# Builds the libFuzzer harnesses (the `fuzz` CMake preset: clang 14, ASan + UBSan) and runs each on its
# seed corpus, for a time or a number of inputs; prints executions, coverage and crashes per harness.
#
#   bash scripts/fuzz.sh [--seconds 30 | --runs 1000000] [HARNESS ...]
#
# The corpus each run grows is build/fuzz/corpus/HARNESS (seeded from fuzz/corpus/HARNESS, which stays
# as committed); a crashing input is saved as build/fuzz/crashes/HARNESS-crash-*. Exit 1 if any crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
runs=-1
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; seconds=0; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    fuzz_*) harnesses+=("$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1' (expected --seconds S, --runs N or a harness name)" >&2; exit 2 ;;
  esac
done
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(fuzz_dataset fuzz_preset fuzz_run_dir fuzz_names fuzz_results_csv fuzz_safetensors fuzz_tensorboard)
fi

[ -f build/fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

mkdir -p build/fuzz/crashes
failed=0
printf '%-18s %12s %10s %8s %8s  %s\n' harness executions exec/s cov ft result
for h in "${harnesses[@]}"; do
  corpus=build/fuzz/corpus/$h
  mkdir -p "$corpus"
  cp -n fuzz/corpus/"$h"/* "$corpus"/ 2>/dev/null || true
  log=build/fuzz/$h.log
  set +e
  # -max_total_time=0 means no limit; -runs=-1 no count limit: one of the two bounds the run.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    build/fuzz/fuzz/"$h" "$corpus" -max_total_time="$seconds" -runs="$runs" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/"$h"- >"$log" 2>&1
  rc=$?
  set -e
  done_line=$(grep -E '^#[0-9]+.*DONE|^Done [0-9]+ runs' "$log" | tail -1 || true)
  executions=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  per_second=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  if [ $rc -eq 0 ]; then result=ok; else result="CRASH (see $log)"; failed=1; fi
  printf '%-18s %12s %10s %8s %8s  %s\n' "$h" "$executions" "$per_second" "$cov" "$ft" "$result"
  : "$done_line"
done
exit $failed
