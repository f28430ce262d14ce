#!/usr/bin/env python3
"""Sums a LibTorch Chrome trace (train_bench --profile) by operator: self time (an op's time minus
that of the ops it called), calls, and the share of the whole, largest first.

    python3 scripts/profile_ops.py TRACE [--top N]
"""
import argparse, collections, json, sys

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("trace")
ap.add_argument("--top", type=int, default=40)
a = ap.parse_args()
try:
    with open(a.trace) as f:
        events = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"profile_ops: cannot read {a.trace}: {e}")
events = events.get("traceEvents", events) if isinstance(events, dict) else events
spans = sorted((e for e in events if e.get("ph") == "X"), key=lambda e: (e["tid"], e["ts"], -e["dur"]))
self_us, calls = collections.Counter(), collections.Counter()
stack = []  # (end, name) of the open spans of the current thread
tid = None
for e in spans:
    if e["tid"] != tid:
        stack, tid = [], e["tid"]
    while stack and stack[-1][0] <= e["ts"]:
        stack.pop()
    if stack:
        self_us[stack[-1][1]] -= e["dur"]
    self_us[e["name"]] += e["dur"]
    calls[e["name"]] += 1
    stack.append((e["ts"] + e["dur"], e["name"]))
total = sum(self_us.values())
print(f"{'op':48} {'self ms':>9} {'share':>6} {'calls':>7}")
for name, us in self_us.most_common(a.top):
    print(f"{name[:48]:48} {us / 1e3:9.1f} {100 * us / total:5.1f}% {calls[name]:7d}")
print(f"{'total':48} {total / 1e3:9.1f}")
