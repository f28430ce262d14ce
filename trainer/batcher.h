#pragma once
// Turns a dataset split into training batches: every epoch visits every example once in a seeded
// order, and examples of similar length share a batch (bucketing) so that little compute goes to
// padding. The plan of an epoch is a pure function of (seed, epoch), so a resumed run sees exactly the
// batches an uninterrupted one would.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "generators/dataset_reader.h"
#include "trainer/train_config.h"

namespace lab {

struct Batch {
  torch::Tensor inputs;     // [B, T] int64: each sequence without its last token, <pad>-padded
  torch::Tensor targets;    // [B, T] int64: each sequence without its first token
  torch::Tensor loss_mask;  // [B, T] float32: 1 where the target is trained on, 0 on padding / prompt
  std::int64_t examples = 0;
  std::int64_t loss_tokens = 0;   // sum of loss_mask
  std::int64_t input_tokens = 0;  // non-padding tokens in inputs
};

struct BatchTokens {
  std::int64_t loss_tokens = 0;   // targets trained on
  std::int64_t input_tokens = 0;  // non-padding input tokens
};

class Batcher {
 public:
  // batch_size: examples per batch; bucket_batches: how many batches' worth of shuffled examples
  // are sorted by length together (1 = no bucketing).
  Batcher(const DatasetSplit& split, std::int64_t batch_size, std::uint64_t seed, LossOn loss_on,
          std::int64_t bucket_batches = 32);

  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }

  // The example indices of every batch of `epoch`, in the order they are trained on.
  std::vector<std::vector<std::uint64_t>> epoch_plan(std::int64_t epoch) const;

  // Builds the tensors of one batch on `device`.
  Batch make_batch(const std::vector<std::uint64_t>& examples, torch::Device device) const;

  // The token counts make_batch would report, without building the tensors: in data-parallel
  // training every rank knows the whole global batch, so it knows the global counts for free.
  BatchTokens count_tokens(const std::vector<std::uint64_t>& examples) const;

 private:
  const DatasetSplit& split_;
  std::int64_t batch_size_;
  std::uint64_t seed_;
  LossOn loss_on_;
  std::int64_t bucket_batches_;
  std::int64_t batches_per_epoch_;
};

// Rank `rank`'s share of a global batch for data-parallel training: a contiguous slice, sizes
// differing by at most one. A short last batch of an epoch may leave a rank nothing.
std::vector<std::uint64_t> shard_of(const std::vector<std::uint64_t>& batch, int rank, int world_size);

}  // namespace lab
