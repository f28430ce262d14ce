// Translation unit that carries the shared LibTorch precompiled header (see LabTargets.cmake).
