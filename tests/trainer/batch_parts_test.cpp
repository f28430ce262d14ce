// A batch trained in parts, one per thread (trainer/batch_parts.h), against the plain backward of the
// whole batch on one thread: the same gradients (to float rounding), bit-identical reruns, and the
// cases that keep one part.
#include "trainer/batch_parts.h"

#include <gtest/gtest.h>

#include "models/kernels.h"
#include "models/transformer.h"

namespace lab {
namespace {

class ThreadsFor {
 public:
  explicit ThreadsFor(int threads) : before_(torch::get_num_threads()) { torch::set_num_threads(threads); }
  ~ThreadsFor() { torch::set_num_threads(before_); }

 private:
  int before_;
};

ModelConfig small_model(bool moe) {
  ModelConfig c;
  c.vocab_size = 19;
  c.max_seq_len = 12;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 4;
  if (moe) {
    c.ffn = FfnKind::moe;
    c.experts = 4;
    c.top_k = 2;
    c.load_balance_coef = 0;  // the auxiliary losses depend on the batch: parts average them instead
    c.z_loss_coef = 0;
  }
  return c;
}

// Cross-entropy summed over `rows` of the batch / the whole batch's tokens, plus the aux loss.
torch::Tensor objective(Transformer& model, const torch::Tensor& tokens, std::int64_t begin,
                        std::int64_t end) {
  const torch::Tensor inputs = tokens.slice(0, begin, end).slice(1, 0, -1);
  const torch::Tensor targets = tokens.slice(0, begin, end).slice(1, 1);
  const TransformerOutput out = model->forward(inputs);
  const double all_tokens = static_cast<double>(tokens.size(0) * (tokens.size(1) - 1));
  return torch::nn::functional::cross_entropy(
             out.logits.reshape({-1, out.logits.size(-1)}), targets.reshape(-1),
             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
             all_tokens +
         out.aux_loss;
}

std::vector<torch::Tensor> gradients(Transformer& model) {
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : model->parameters())
    grads.push_back(p.grad().defined() ? p.grad().clone() : p.grad());
  return grads;
}

// The gradients of the batch in `parts` parts on `threads` threads (parts 1: the plain backward).
std::vector<torch::Tensor> train_gradients(Transformer& model, const torch::Tensor& tokens, int parts) {
  model->zero_grad();
  const std::int64_t batch = tokens.size(0);
  if (parts == 1) {
    objective(model, tokens, 0, batch).backward();
  } else {
    backward_in_parts(parts, model->parameters(), [&](int i) {
      return objective(model, tokens, batch * i / parts, batch * (i + 1) / parts);
    });
  }
  return gradients(model);
}

TEST(BatchParts, GradientsEqualTheWholeBatchsOnOneThread) {
  for (bool moe : {false, true}) {
    SCOPED_TRACE(moe ? "moe" : "dense");
    torch::manual_seed(3);
    Transformer model(small_model(moe));
    const torch::Tensor tokens = torch::randint(19, {7, 12}, torch::kInt64);
    std::vector<torch::Tensor> whole;
    {
      ThreadsFor one(1);
      whole = train_gradients(model, tokens, 1);
    }
    ThreadsFor two(2);
    for (int parts : {2, 3}) {
      SCOPED_TRACE(parts);
      const std::vector<torch::Tensor> split = train_gradients(model, tokens, parts);
      ASSERT_EQ(split.size(), whole.size());
      for (std::size_t i = 0; i < whole.size(); ++i) {
        ASSERT_EQ(split[i].defined(), whole[i].defined()) << i;
        if (!whole[i].defined()) continue;
        const double scale = whole[i].abs().max().item<double>() + 1e-12;
        EXPECT_LT((split[i] - whole[i]).abs().max().item<double>(), 2e-5 * scale) << "parameter " << i;
      }
      const std::vector<torch::Tensor> again = train_gradients(model, tokens, parts);
      for (std::size_t i = 0; i < whole.size(); ++i) {
        if (split[i].defined()) {
          EXPECT_TRUE(torch::equal(split[i], again[i])) << "rerun, parameter " << i;
        }
      }
      for (const torch::Tensor& p : model->parameters()) {
        if (p.grad().defined()) {
          EXPECT_FALSE(p.grad().is_view());  // the optimizer detaches them in place
        }
      }
    }
  }
}

TEST(BatchParts, OnePartPerThreadOnTheCpuWithTheFusedKernelsOnly) {
  ThreadsFor two(2);
  EXPECT_EQ(batch_parts(torch::kCPU, 64), 2);
  EXPECT_EQ(batch_parts(torch::kCPU, 1), 1) << "at most one part per example";
  EXPECT_EQ(batch_parts(torch::Device(torch::kCUDA, 0), 64), 1);
  {
    KernelsGuard reference(Kernels::reference);
    EXPECT_EQ(batch_parts(torch::kCPU, 64), 1);
  }
  ThreadsFor one(1);
  EXPECT_EQ(batch_parts(torch::kCPU, 64), 1);
}

}  // namespace
}  // namespace lab
