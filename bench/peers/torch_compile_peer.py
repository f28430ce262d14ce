"""Runs the PyTorch peer ../shared/peers/torch_gpt_peer.py with its model under torch.compile.

    python3 bench/peers/torch_compile_peer.py PEER.py [the peer's flags]

PyTorch 2.x only (on a CPU, TorchInductor generates and compiles C++ with the system's g++). The peer
is read, not copied: the line that builds its model gets `m = torch.compile(m)` after it, and the run
stops with an error if that line is not there. Everything else (flags, warm-up steps, which run the
compilation, and the printed tokens_per_s) is the peer's own; bench/train_bench --peer2 reports it as
peer2c.
"""
import sys

if len(sys.argv) < 2:
    sys.exit("usage: torch_compile_peer.py PEER.py [flags]")
peer = sys.argv[1]
source = open(peer).read()
line = "m = GPT(a.V, a.T, a.d, a.L, a.h, a.ff, a.E, a.k)\n"
if source.count(line) != 1:
    sys.exit(f"torch_compile_peer.py: {peer} no longer builds its model with the line {line.strip()!r}")
sys.argv = [peer] + sys.argv[2:]
exec(compile(source.replace(line, line + "m = torch.compile(m)\n"), peer, "exec"), {"__name__": "__main__"})
