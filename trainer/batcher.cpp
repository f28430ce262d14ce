#include "trainer/batcher.h"

#include <algorithm>

#include "generators/permutation.h"
#include "generators/rng.h"

namespace lab {

Batcher::Batcher(const DatasetSplit& split, std::int64_t batch_size, std::uint64_t seed, LossOn loss_on,
                 std::int64_t bucket_batches)
    : split_(split),
      batch_size_(batch_size),
      seed_(seed),
      loss_on_(loss_on),
      bucket_batches_(std::max<std::int64_t>(bucket_batches, 1)),
      batches_per_epoch_((static_cast<std::int64_t>(split.size()) + batch_size - 1) / batch_size) {}

std::vector<std::vector<std::uint64_t>> Batcher::epoch_plan(std::int64_t epoch) const {
  const std::uint64_t n = split_.size();
  const std::uint64_t key = mix64(seed_ ^ mix64(static_cast<std::uint64_t>(epoch) + 0x5EED));
  Permutation order(std::max<std::uint64_t>(n, 1), key);
  std::vector<std::vector<std::uint64_t>> batches;
  const std::uint64_t window = static_cast<std::uint64_t>(batch_size_ * bucket_batches_);
  std::vector<std::uint64_t> bucket;
  for (std::uint64_t start = 0; start < n; start += window) {
    // A window of shuffled examples, sorted by length (ties keep the shuffled order), cut into batches.
    bucket.clear();
    for (std::uint64_t i = start; i < std::min(n, start + window); ++i) bucket.push_back(order(i));
    std::stable_sort(bucket.begin(), bucket.end(), [&](std::uint64_t a, std::uint64_t b) {
      return split_.example(a).tokens.size() < split_.example(b).tokens.size();
    });
    for (std::size_t i = 0; i < bucket.size(); i += batch_size_) {
      batches.emplace_back(bucket.begin() + i, bucket.begin() + std::min(bucket.size(), i + batch_size_));
    }
  }
  // Sorted windows would feed short batches first: shuffle the batches themselves.
  Rng rng(seed_, 0xBA7C4, static_cast<std::uint64_t>(epoch));
  for (std::size_t i = batches.size(); i > 1; --i) std::swap(batches[i - 1], batches[rng.uniform(i)]);
  return batches;
}

Batch Batcher::make_batch(const std::vector<std::uint64_t>& examples, torch::Device device) const {
  std::size_t longest = 0;
  for (std::uint64_t i : examples) longest = std::max(longest, split_.example(i).tokens.size());
  const auto b = static_cast<std::int64_t>(examples.size());
  const auto t = static_cast<std::int64_t>(longest) - 1;       // predictions per sequence
  torch::Tensor inputs = torch::zeros({b, t}, torch::kInt64);  // 0 is <pad>
  torch::Tensor targets = torch::zeros({b, t}, torch::kInt64);
  torch::Tensor mask = torch::zeros({b, t}, torch::kFloat32);
  auto in = inputs.accessor<std::int64_t, 2>();
  auto out = targets.accessor<std::int64_t, 2>();
  auto m = mask.accessor<float, 2>();
  std::int64_t loss_tokens = 0, input_tokens = 0;
  for (std::int64_t row = 0; row < b; ++row) {
    ExampleView example = split_.example(examples[row]);
    const auto length = static_cast<std::int64_t>(example.tokens.size());
    input_tokens += length - 1;
    // Position j reads token j and predicts token j + 1; the answer starts at prompt_length.
    const std::int64_t first_trained =
        loss_on_ == LossOn::answer ? static_cast<std::int64_t>(example.prompt_length) : 1;
    for (std::int64_t j = 0; j + 1 < length; ++j) {
      in[row][j] = example.tokens[j];
      out[row][j] = example.tokens[j + 1];
      if (j + 1 >= first_trained) {
        m[row][j] = 1.0f;
        ++loss_tokens;
      }
    }
  }
  return {inputs.to(device), targets.to(device), mask.to(device), b, loss_tokens, input_tokens};
}

BatchTokens Batcher::count_tokens(const std::vector<std::uint64_t>& examples) const {
  BatchTokens counts;
  for (std::uint64_t i : examples) {
    ExampleView example = split_.example(i);
    const auto length = static_cast<std::int64_t>(example.tokens.size());
    // As in make_batch: targets 1 .. length - 1, trained from first_trained on.
    const std::int64_t first_trained =
        loss_on_ == LossOn::answer ? static_cast<std::int64_t>(example.prompt_length) : 1;
    counts.input_tokens += length - 1;
    counts.loss_tokens += std::max<std::int64_t>(0, length - std::max<std::int64_t>(first_trained, 1));
  }
  return counts;
}

std::vector<std::uint64_t> shard_of(const std::vector<std::uint64_t>& batch, int rank, int world_size) {
  const std::size_t n = batch.size();
  const std::size_t begin = n * static_cast<std::size_t>(rank) / static_cast<std::size_t>(world_size);
  const std::size_t end = n * static_cast<std::size_t>(rank + 1) / static_cast<std::size_t>(world_size);
  return {batch.begin() + static_cast<std::ptrdiff_t>(begin),
          batch.begin() + static_cast<std::ptrdiff_t>(end)};
}

}  // namespace lab
