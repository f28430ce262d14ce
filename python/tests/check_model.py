#!/usr/bin/env python3
"""Checks that lab_model reproduces lab's (C++) logits.

    /usr/bin/python3 python/tests/check_model.py DIR [DIR ...]

Each DIR holds model.safetensors (format "lab-model": the weights, the run's config.json in
__metadata__ "config") and check.safetensors with `tokens` (I64 [B, T]) and `logits` (F32 [B, T, V])
that lab computed in C++. The model is rebuilt with lab_model.load and run on `tokens` (CPU, fp32, one
thread). Prints one line per DIR with the largest absolute difference of the logits; exits 1 if any
exceeds 1e-5, the shapes differ or a file does not load, 0 otherwise (2: bad arguments, 77: torch
cannot be imported, so a test can skip). Reads safetensors with lab_model's reader (which uses the
`safetensors` package only if it is installed).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import torch

    import lab_model
except ImportError as e:  # 77: a test runner may skip
    print(f"check_model: cannot import torch ({e}); use a python with torch (Debian: /usr/bin/python3)",
          file=sys.stderr)
    sys.exit(77)

TOLERANCE = 1e-5


def check(directory):
    """-> (ok, message) for one DIR."""
    model_file = os.path.join(directory, "model.safetensors")
    check_file = os.path.join(directory, "check.safetensors")
    try:
        model = lab_model.load(model_file)
        tensors, _ = lab_model.read_safetensors(check_file)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        return False, f"cannot load: {e}"
    missing = [name for name in ("tokens", "logits") if name not in tensors]
    if missing:
        return False, f"{check_file}: has no tensor {', '.join(repr(m) for m in missing)}"
    tokens, expected = tensors["tokens"].long(), tensors["logits"].float()  # [B, T], [B, T, V]
    try:
        with torch.no_grad():
            logits = model(tokens)  # [B, T, V]
    except (ValueError, RuntimeError, IndexError) as e:
        return False, f"the model fails on tokens {list(tokens.shape)}: {e}"
    if logits.shape != expected.shape:
        return False, f"logits {list(logits.shape)} but lab's are {list(expected.shape)}"
    diff = (logits - expected).abs().max().item() if expected.numel() else 0.0
    c = model.config
    what = f"{c['router'] if c['ffn'] == 'moe' else 'dense'}, tokens {list(tokens.shape)}"
    if not diff <= TOLERANCE:  # NaN fails too
        return False, f"max abs diff {diff:.3e} > {TOLERANCE:g} ({what})"
    return True, f"max abs diff {diff:.3e} ({what})"


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    failed = 0
    for directory in argv[1:]:
        ok, message = check(directory)
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {directory}: {message}")
    print(f"{len(argv) - 1 - failed} of {len(argv) - 1} match within {TOLERANCE:g}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
