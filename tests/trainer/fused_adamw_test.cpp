// FusedAdamW (trainer/fused_adamw.h) against LibTorch's torch::optim::AdamW on the same parameters and
// gradients: the same weights and moments to float rounding over several steps (two groups, one with
// weight decay, a changing learning rate, a parameter without a gradient), the same at one and two
// threads bit for bit, and exactly AdamW's step with the reference kernels.
#include "trainer/fused_adamw.h"

#include <gtest/gtest.h>

#include "models/kernels.h"

namespace lab {
namespace {

struct Params {
  std::vector<torch::Tensor> decayed, plain;
  std::vector<torch::Tensor> all() const {
    std::vector<torch::Tensor> out = decayed;
    out.insert(out.end(), plain.begin(), plain.end());
    return out;
  }
};

Params make_params() {
  torch::manual_seed(9);
  // A matrix big enough for the update to be split between threads, a small one, a vector.
  return {{torch::randn({300, 257}).requires_grad_(), torch::randn({7, 5}).requires_grad_()},
          {torch::randn({33}).requires_grad_()}};
}

template <typename Optimizer>
std::unique_ptr<Optimizer> make(const Params& p) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto options = [](double decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).weight_decay(decay));
  };
  groups.emplace_back(p.decayed, options(0.1));
  groups.emplace_back(p.plain, options(0.0));
  return std::make_unique<Optimizer>(groups, torch::optim::AdamWOptions(3e-3));
}

// Five steps with the same gradients (seeded per step) and learning rates; the vector gets no
// gradient at step 2.
template <typename Optimizer>
Params train(int threads) {
  const int before = torch::get_num_threads();
  torch::set_num_threads(threads);
  Params p = make_params();
  auto optimizer = make<Optimizer>(p);
  for (int step = 0; step < 5; ++step) {
    torch::manual_seed(100 + step);
    for (torch::Tensor& t : p.all()) {
      torch::Tensor g = torch::randn_like(t);
      t.mutable_grad() = step == 2 && t.dim() == 1 ? torch::Tensor() : g;
    }
    for (auto& group : optimizer->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(3e-3 * (1.0 - 0.1 * step));
    optimizer->step();
  }
  torch::set_num_threads(before);
  return p;
}

TEST(FusedAdamW, MatchesLibTorchsAdamW) {
  const Params fused = train<FusedAdamW>(1);
  const Params reference = train<torch::optim::AdamW>(1);
  const auto a = fused.all(), b = reference.all();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double scale = b[i].abs().max().item<double>();
    EXPECT_LT((a[i] - b[i]).abs().max().item<double>(), 1e-6 * scale) << "parameter " << i;
    EXPECT_FALSE(torch::equal(a[i], make_params().all()[i])) << "parameter " << i << " did not move";
  }
}

TEST(FusedAdamW, BitIdenticalAtOneAndTwoThreads) {
  const auto a = train<FusedAdamW>(1).all(), b = train<FusedAdamW>(2).all();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

TEST(FusedAdamW, IsAdamWsOwnStepWithTheReferenceKernels) {
  KernelsGuard reference(Kernels::reference);
  const auto a = train<FusedAdamW>(1).all(), b = train<torch::optim::AdamW>(1).all();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

TEST(FusedAdamW, KeepsItsStateWhereAdamWDoes) {
  Params p = make_params();
  auto optimizer = make<FusedAdamW>(p);
  for (torch::Tensor& t : p.all()) t.mutable_grad() = torch::ones_like(t);
  optimizer->step();
  for (const torch::Tensor& t : p.all()) {
    auto it = optimizer->state().find(optimizer_state_key(*optimizer, t));
    ASSERT_NE(it, optimizer->state().end());
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    EXPECT_EQ(s.step(), 1);
    // After one step from zero: m = (1 - beta1) g, v = (1 - beta2) g^2.
    EXPECT_TRUE(torch::allclose(s.exp_avg(), torch::full_like(t, 0.1)));
    EXPECT_TRUE(torch::allclose(s.exp_avg_sq(), torch::full_like(t, 0.05)));
  }
}

}  // namespace
}  // namespace lab
