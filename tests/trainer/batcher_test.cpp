#include "trainer/batcher.h"

#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <unistd.h>

#include "generators/dataset_writer.h"
#include "generators/graph_generator.h"

namespace lab {
namespace {

// A small shortest-path dataset (variable lengths) written once for the whole suite.
class BatcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("lab_batcher_test_" + std::to_string(getpid())));
    GraphParams params;
    params.train_count = 1000;
    params.test_count = 10;
    write_dataset(GraphGenerator(params), {*dir_, true, 2, true});
    dataset_ = new Dataset(Dataset::open(*dir_));
  }
  static void TearDownTestSuite() {
    delete dataset_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static const DatasetSplit& train() { return dataset_->split("train"); }

  static std::filesystem::path* dir_;
  static Dataset* dataset_;
};
std::filesystem::path* BatcherTest::dir_ = nullptr;
Dataset* BatcherTest::dataset_ = nullptr;

TEST_F(BatcherTest, EveryEpochVisitsEveryExampleOnce) {
  Batcher batcher(train(), 64, 7, LossOn::answer);
  for (std::int64_t epoch : {0, 1, 5}) {
    auto plan = batcher.epoch_plan(epoch);
    EXPECT_EQ(static_cast<std::int64_t>(plan.size()), batcher.batches_per_epoch());
    std::multiset<std::uint64_t> seen;
    for (const auto& batch : plan) {
      EXPECT_LE(batch.size(), 64u);
      seen.insert(batch.begin(), batch.end());
    }
    ASSERT_EQ(seen.size(), train().size());
    for (std::uint64_t i = 0; i < train().size(); ++i) EXPECT_EQ(seen.count(i), 1u) << "example " << i;
  }
}

TEST_F(BatcherTest, ThePlanIsAFunctionOfSeedAndEpoch) {
  Batcher a(train(), 32, 7, LossOn::answer), b(train(), 32, 7, LossOn::answer),
      c(train(), 32, 8, LossOn::answer);
  EXPECT_EQ(a.epoch_plan(3), b.epoch_plan(3));
  EXPECT_NE(a.epoch_plan(3), a.epoch_plan(4));
  EXPECT_NE(a.epoch_plan(3), c.epoch_plan(3));
}

TEST_F(BatcherTest, BucketingCutsPadding) {
  auto padding = [&](std::int64_t bucket_batches) {
    Batcher batcher(train(), 32, 1, LossOn::all, bucket_batches);
    std::int64_t padded = 0;
    for (const auto& batch : batcher.epoch_plan(0)) {
      std::size_t longest = 0, total = 0;
      for (auto i : batch) {
        longest = std::max(longest, train().example(i).tokens.size());
        total += train().example(i).tokens.size();
      }
      padded += static_cast<std::int64_t>(longest * batch.size() - total);
    }
    return padded;
  };
  EXPECT_LT(padding(16), padding(1) / 2);
}

TEST_F(BatcherTest, TargetsAreInputsShiftedAndTheMaskCoversExactlyTheAnswers) {
  Batcher answer_only(train(), 16, 3, LossOn::answer);
  Batcher everything(train(), 16, 3, LossOn::all);
  std::vector<std::uint64_t> examples = answer_only.epoch_plan(0).front();
  Batch a = answer_only.make_batch(examples, torch::kCPU);
  Batch e = everything.make_batch(examples, torch::kCPU);
  std::int64_t answer_tokens = 0, all_tokens = 0;
  for (std::size_t row = 0; row < examples.size(); ++row) {
    ExampleView x = train().example(examples[row]);
    answer_tokens += static_cast<std::int64_t>(x.answer().size());
    all_tokens += static_cast<std::int64_t>(x.tokens.size()) - 1;
    for (std::size_t j = 0; j + 1 < x.tokens.size(); ++j) {
      EXPECT_EQ(a.inputs[row][j].item<std::int64_t>(), x.tokens[j]);
      EXPECT_EQ(a.targets[row][j].item<std::int64_t>(), x.tokens[j + 1]);
      // The target at j is trained on iff it is an answer token (position j + 1 >= prompt length).
      EXPECT_EQ(a.loss_mask[row][j].item<float>(), j + 1 >= x.prompt_length ? 1.0f : 0.0f);
    }
  }
  EXPECT_EQ(a.loss_tokens, answer_tokens);
  EXPECT_EQ(a.loss_mask.sum().item<double>(), static_cast<double>(answer_tokens));
  EXPECT_EQ(e.loss_tokens, all_tokens);
  EXPECT_EQ(a.inputs.size(0), static_cast<std::int64_t>(examples.size()));
}

TEST_F(BatcherTest, CountTokensAgreesWithTheBuiltBatch) {
  for (LossOn loss_on : {LossOn::answer, LossOn::all}) {
    Batcher batcher(train(), 16, 3, loss_on);
    for (const auto& examples : batcher.epoch_plan(0)) {
      Batch batch = batcher.make_batch(examples, torch::kCPU);
      BatchTokens counted = batcher.count_tokens(examples);
      EXPECT_EQ(counted.loss_tokens, batch.loss_tokens);
      EXPECT_EQ(counted.loss_tokens, static_cast<std::int64_t>(batch.loss_mask.sum().item<double>()));
      EXPECT_EQ(counted.input_tokens, batch.input_tokens);
    }
  }
}

TEST_F(BatcherTest, ShardsSplitABatchIntoContiguousNearlyEqualSlices) {
  std::vector<std::uint64_t> batch = {10, 11, 12, 13, 14, 15, 16};
  for (int world : {1, 2, 3, 7, 9}) {
    std::vector<std::uint64_t> joined;
    for (int rank = 0; rank < world; ++rank) {
      std::vector<std::uint64_t> shard = shard_of(batch, rank, world);
      EXPECT_LE(shard.size(), batch.size() / world + 1) << world;
      EXPECT_GE(shard.size(), batch.size() / world) << world;
      joined.insert(joined.end(), shard.begin(), shard.end());
    }
    EXPECT_EQ(joined, batch) << world;
  }
}

}  // namespace
}  // namespace lab
