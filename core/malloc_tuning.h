#pragma once
// Keeping freed memory in the process, so that the next tensor of the same size does not fault in
// fresh pages from the kernel.
//
// glibc serves blocks above its mmap threshold (128 KiB, rising up to 32 MiB as such blocks are freed)
// with their own mmap, and returns freed memory at the top of a heap to the kernel once it exceeds the
// trim threshold. A training step allocates and frees the same few-MiB tensors every step, so each
// step page-faults them in again and the kernel zeroes every page: on 2 cores that was ~15% of an MoE
// layer's forward and backward at G = 8 (bench/moe_bench). LibTorch's CPU allocator is plain malloc.

namespace lab {

// Fixes glibc's mmap threshold at 32 MiB (its maximum) and raises its trim threshold to 1 GiB, so the
// steady state of a training step reuses its memory; the price is a resident size that stays near
// its peak. Both must be set: a trim threshold alone fixes the mmap threshold at 128 KiB, which made
// the MoE layer 4x slower.
// Does nothing when GLIBC_TUNABLES or MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ is set (the
// user's choice wins) or when the C library is not glibc. Returns whether it changed anything.
bool keep_freed_memory();

}  // namespace lab
