#!/usr/bin/env bash
# The lab end to end at toy scale, until the experiment presets arrive (then: `lab run smoke`):
# generate the three datasets, verify and describe them, then train a dense and an MoE model of equal
# width on a small phone book and on a shortest-path set, and print their sizes and losses.
# Writes data/ and runs/ under the repository (both ignored by git); takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=build/release/lab
[ -x "$lab" ] || { echo "end_to_end.sh: $lab is missing; run scripts/setup.sh first" >&2; exit 2; }

$lab gen shortest-path --out data/shortest-path --force
$lab gen connectivity --out data/connectivity --force
$lab gen phonebook --entries 1e5 --out data/phonebook --force
$lab verify data/shortest-path
$lab verify data/connectivity
$lab verify data/phonebook
$lab inspect data/shortest-path | sed -n '1,5p'

# Toy training: a 2,000-entry book and 20,000 shortest-path problems, d_model 64, 2 layers.
$lab gen phonebook --entries 2000 --out data/phonebook-2k --force -q
$lab gen shortest-path --count 2e4 --out data/shortest-path-20k --force -q
model=(--d-model 64 --layers 2 --heads 2)
rm -rf runs/end-to-end
for data in phonebook-2k shortest-path-20k; do
  for ffn in dense moe; do
    extra=()
    [ "$ffn" = moe ] && extra=(--experts 8 --top-k 2)
    echo "== $ffn on $data"
    $lab train --data "data/$data" --out "runs/end-to-end/$data-$ffn" "${model[@]}" "${extra[@]}" \
      --steps 300 --batch-size 64 --lr 3e-3 --log-every 100
  done
done
