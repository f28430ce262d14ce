#!/usr/bin/env bash
# Copies the small files of every probed run under a `lab run` output directory (config.json, run.json,
# probe.json, metrics.jsonl; not checkpoints or datasets) into reference/NAME/runs/, then runs
# `lab report` there, which writes results.csv and the plots beside them. The committed CSV is thus
# regenerable from committed files, and tests/cli/reference_test.cpp checks that it is.
#
#   bash scripts/publish_reference.sh RUN_OUT NAME      e.g. runs/phonebook-cpu phonebook
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 2 ] || [ ! -d "$1/runs" ]; then
  echo "usage: bash scripts/publish_reference.sh RUN_OUT NAME (RUN_OUT: a \`lab run\` --out directory, holding runs/)" >&2
  exit 2
fi
src=$1
dest=reference/$2
rm -rf "$dest/runs" "$dest/plots" "$dest/results.csv"
mkdir -p "$dest/runs"
for run in "$src"/runs/*/; do
  [ -f "$run/probe.json" ] || { echo "skipping $run: not probed yet" >&2; continue; }
  id=$(basename "$run")
  mkdir -p "$dest/runs/$id"
  cp "$run"/{config.json,run.json,probe.json,metrics.jsonl} "$dest/runs/$id/"
done
build/release/lab report "$dest"
rm -f "$dest"/results.sqlite*   # rebuilt by `lab report`; the CSV is the committed form
