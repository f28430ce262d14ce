#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<harness>/ from real files: small datasets `lab gen` writes,
the shipped presets, reference run directories, name lists, results.csv files and a checkpoint.

    python3 fuzz/make_corpus.py build/release/lab

Bundles (several files in one input) follow fuzz/bundle.h: [file index][u32 length][bytes]...
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def bundle(names, files):
    """files: {name: bytes} -> one bundle over the harness's list of names."""
    out = b""
    for name, data in files.items():
        out += bytes([names.index(name)]) + len(data).to_bytes(4, "little") + data
    return out


def write(harness, name, data):
    os.makedirs(os.path.join(CORPUS, harness), exist_ok=True)
    with open(os.path.join(CORPUS, harness, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    lab = os.path.abspath(sys.argv[1])
    shutil.rmtree(CORPUS, ignore_errors=True)
    tmp = tempfile.mkdtemp()
    try:
        names = ["manifest.json", "train.tokens", "train.index", "test.tokens", "test.index"]
        gens = {
            "shortest-path": ["shortest-path", "--count", "6", "--test-count", "2", "--nodes-min", "4", "--nodes-max", "6"],
            "shortest-path-format1": ["shortest-path", "--count", "6", "--test-count", "2", "--nodes-min", "4",
                                      "--nodes-max", "6", "--prompt-format", "1"],
            "connectivity": ["connectivity", "--count", "6", "--test-count", "2", "--nodes-min", "4", "--nodes-max", "6"],
            "phonebook": ["phonebook", "--entries", "8", "--test-count", "2", "--control-count", "2"],
        }
        for label, args in gens.items():
            out = os.path.join(tmp, label)
            subprocess.run([lab, "-q", "gen"] + args + ["--out", out], check=True)
            files = {n: read(os.path.join(out, n)) for n in names if os.path.exists(os.path.join(out, n))}
            write("fuzz_dataset", label, bundle(names, files))

        for preset in sorted(os.listdir(os.path.join(ROOT, "experiments", "presets"))):
            write("fuzz_preset", preset, read(os.path.join(ROOT, "experiments", "presets", preset)))

        run_names = ["config.json", "metrics.jsonl", "probe.json", "run.json"]
        for reference in ["shortest-path", "phonebook", "connectivity", "granularity"]:
            runs = os.path.join(ROOT, "results", "reference", reference, "runs")
            if not os.path.isdir(runs):
                continue
            first = sorted(os.listdir(runs))[0]
            files = {}
            for n in run_names:
                path = os.path.join(runs, first, n)
                if os.path.exists(path):
                    data = read(path)
                    # metrics.jsonl: the first and last 20 lines keep the seed small
                    if n == "metrics.jsonl":
                        lines = data.splitlines(keepends=True)
                        data = b"".join(lines[:20] + lines[-20:])
                    files[n] = data
            write("fuzz_run_dir", reference, bundle(run_names, files))

        name_files = ["first.txt", "last.txt"]
        write("fuzz_names", "plain", bundle(name_files, {"first.txt": b"Ada\nAlan\nGrace\n", "last.txt": b"Lovelace\nTuring\n"}))
        write("fuzz_names", "crlf-comments", bundle(name_files, {"first.txt": b"# firsts\r\nAda\r\n\r\nAda\r\n",
                                                                 "last.txt": b"Hopper\n  Knuth  \n"}))

        for reference in ["shortest-path", "phonebook", "granularity"]:
            lines = read(os.path.join(ROOT, "results", "reference", reference, "results.csv")).splitlines(keepends=True)
            write("fuzz_results_csv", reference, b"".join(lines[:4]))
        write("fuzz_results_csv", "quoted", b'a,b,c\n"x,1",2,"say ""hi"""\n')

        book = os.path.join(tmp, "phonebook")
        run = os.path.join(tmp, "run")
        subprocess.run([lab, "-q", "--threads", "1", "train", "--data", book, "--out", run, "--steps", "2", "--batch-size", "4",
                        "--d-model", "8", "--layers", "1", "--heads", "1", "--experts", "2"], check=True)
        checkpoints = os.path.join(run, "checkpoints")
        newest = sorted(f for f in os.listdir(checkpoints) if f.endswith(".safetensors"))[-1]
        write("fuzz_safetensors", "checkpoint", read(os.path.join(checkpoints, newest)))
        header = b'{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}}'
        write("fuzz_safetensors", "example", len(header).to_bytes(8, "little") + header + bytes(16))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
