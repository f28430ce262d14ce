#!/usr/bin/env python3
"""Checks lab_data's reading of a split against `lab export`.

    lab export DATASET_DIR --split SPLIT --format jsonl > SPLIT.jsonl
    /usr/bin/python3 python/tests/check_data.py DATASET_DIR SPLIT SPLIT.jsonl

Every JSONL line (generators/dataset_export.cpp: "index", "prompt", "answer" as text, "prompt_ids",
"answer_ids" as lists of ints) must match lab_data's example(index): the ids exactly, and
decode(prompt ids) / decode(answer ids) the text fields. Lines must be examples 0, 1, 2, ... (an
export with --limit checks a prefix). Exit codes: 0 all match, 1 not (the first mismatches printed),
2 bad arguments, 77 numpy cannot be imported (so a test can skip).
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import lab_data
except ImportError as e:  # 77: a test runner may skip
    print(f"check_data: cannot import numpy ({e})", file=sys.stderr)
    sys.exit(77)

SHOWN = 5  # mismatches printed in full
FIELDS = ("index", "prompt", "answer", "prompt_ids", "answer_ids")


def compare(split, line, where):
    """-> a list of problems of one parsed JSONL line."""
    i = line["index"]
    if not isinstance(i, int) or not 0 <= i < len(split):
        return [f"{where}: index {i!r} is not an example of split '{split.name}' ({len(split)} examples)"]
    prompt, answer = split.example(i)
    problems = []
    for name, ours in (("prompt", prompt), ("answer", answer)):
        if [int(t) for t in ours] != line[name + "_ids"]:
            problems.append(f"{where}: example {i} {name}_ids: lab_data {ours.tolist()}, "
                            f"export {line[name + '_ids']}")
        if split.decode(ours) != line[name]:
            problems.append(f"{where}: example {i} {name} text: lab_data {split.decode(ours)!r}, "
                            f"export {line[name]!r}")
    return problems


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    directory, split_name, jsonl = argv[1:]
    try:
        split = lab_data.Dataset(directory).split(split_name)
        with open(jsonl, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, ValueError) as e:
        print(f"FAIL {e}")
        return 1
    problems = []
    for number, text in enumerate(lines):
        where = f"{jsonl}:{number + 1}"
        try:
            line = json.loads(text)
        except ValueError as e:
            problems.append(f"{where}: not JSON ({e})")
            continue
        missing = [field for field in FIELDS if not isinstance(line, dict) or field not in line]
        if missing:  # the whole file is of the wrong kind: one message
            print(f"FAIL {where}: no field {', '.join(missing)}; export with a lab whose "
                  f"`lab export --format jsonl` writes {', '.join(FIELDS)}")
            return 1
        if line["index"] != number:
            problems.append(f"{where}: index {line['index']!r}, expected {number} "
                            "(lines must be examples 0, 1, ...)")
        problems += compare(split, line, where)
    if not lines:
        problems.append(f"{jsonl}: empty, no example to compare")
    if len(lines) > len(split):
        problems.append(f"{jsonl}: {len(lines)} lines but split '{split_name}' has {len(split)} examples")
    for problem in problems[:SHOWN]:
        print(problem)
    if problems:
        print(f"FAIL {len(problems)} mismatches in {len(lines)} lines of {jsonl} against {directory} "
              f"split '{split_name}'")
        return 1
    print(f"ok {len(lines)} of {len(split)} examples of split '{split_name}' match {jsonl} (ids and text)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
