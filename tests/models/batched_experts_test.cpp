// The GPU paths of the MoE layer (models/batched_experts.h) against the CPU's grouped experts, run here
// on the CPU: the padded products with lab's deterministic combine and with index_add (`--kernels
// reference`), and at::_grouped_mm where LibTorch has it (2.11+; its CPU implementation). The same
// outputs and gradients up to fp32 rounding, for token and expert choice, GELU and SwiGLU, with an
// expert that gets no row.
#include "models/batched_experts.h"

#include <gtest/gtest.h>

#include "models/grouped_experts.h"
#include "models/kernels.h"
#include "models/router.h"

namespace lab::batched_experts_test {

struct Case {
  const char* name;
  ActivationKind activation;
  bool expert_choice;
};

TEST(BatchedExperts, MatchTheGroupedExpertsOutputsAndGradients) {
  const std::int64_t n = 37, d = 12, w = 20, experts = 5;
  for (const Case& c : {Case{"token choice, gelu", ActivationKind::gelu, false},
                        Case{"token choice, swiglu", ActivationKind::swiglu, false},
                        Case{"expert choice, gelu", ActivationKind::gelu, true}}) {
    SCOPED_TRACE(c.name);
    torch::manual_seed(7);
    torch::Tensor logits = torch::randn({n, experts});
    logits.select(1, 3).fill_(-30);  // token choice: expert 3 takes no row
    const Routing r = c.expert_choice ? route_expert_choice(logits, 16, 6, 2) : route_token_choice(logits, 2);
    if (!c.expert_choice) {
      ASSERT_EQ(r.rows_per_expert[3], 0);
    }

    auto make = [](std::initializer_list<std::int64_t> shape) {
      return (torch::randn(shape) * 0.3).requires_grad_();
    };
    const torch::Tensor x = make({n, d}), w1 = make({experts, d, w}), w2 = make({experts, w, d});
    const torch::Tensor w3 = c.activation == ActivationKind::swiglu ? make({experts, d, w}) : torch::Tensor();
    const torch::Tensor weight = r.weight_of_row.detach().clone().requires_grad_();
    const torch::Tensor upstream = torch::randn({n, d});

    std::vector<torch::Tensor> inputs = {x, w1, w2, weight};
    if (w3.defined()) inputs.push_back(w3);
    enum class Path { grouped, batched, batched_reference, grouped_mm };
    auto run = [&](Path path) {
      KernelsGuard kernels(path == Path::batched_reference ? Kernels::reference : Kernels::fused);
      const torch::Tensor y =
          path == Path::grouped
              ? grouped_experts(x, w1, w2, w3, weight, r.token_of_row, r.rows_per_expert, c.activation)
          : path == Path::grouped_mm
              ? grouped_mm_experts(x, w1, w2, w3, weight, r.token_of_row, r.tokens_per_expert, c.activation)
              : batched_experts(x, w1, w2, w3, weight, r.token_of_row, r.tokens_per_expert, c.activation);
      std::vector<torch::Tensor> out = {y.detach()};
      for (torch::Tensor g : torch::autograd::grad({(y * upstream).sum()}, inputs)) out.push_back(g);
      return out;
    };
    const std::vector<torch::Tensor> grouped = run(Path::grouped);
    std::vector<std::pair<const char*, Path>> paths = {
        {"batched", Path::batched}, {"batched, --kernels reference", Path::batched_reference}};
    if (grouped_mm_available()) paths.emplace_back("at::_grouped_mm", Path::grouped_mm);
    for (const auto& [path_name, path] : paths) {
      SCOPED_TRACE(path_name);
      const std::vector<torch::Tensor> other = run(path);
      const char* names[] = {"y", "dx", "dw1", "dw2", "dweight", "dw3"};
      for (std::size_t i = 0; i < grouped.size(); ++i) {
        EXPECT_TRUE(torch::allclose(other[i], grouped[i], 1e-5, 1e-5))
            << names[i] << ": max difference " << (other[i] - grouped[i]).abs().max().item<double>();
      }
    }
    EXPECT_GT(grouped[0].abs().max().item<double>(), 0.01) << "a test of something";
  }
}

TEST(BatchedExperts, NoRowsGiveZeros) {
  const torch::Tensor x = torch::randn({4, 3});
  for (auto experts : {batched_experts, grouped_mm_experts}) {
    if (experts == grouped_mm_experts && !grouped_mm_available()) continue;
    const torch::Tensor y =
        experts(x, torch::randn({2, 3, 5}), torch::randn({2, 5, 3}), torch::Tensor(), torch::empty({0}),
                torch::empty({0}, torch::kLong), torch::zeros({2}, torch::kLong), ActivationKind::gelu);
    EXPECT_TRUE(torch::equal(y, torch::zeros({4, 3})));
  }
}

TEST(BatchedExperts, GroupedMmIsRefusedByNameWithoutIt) {
  if (grouped_mm_available()) GTEST_SKIP() << "this LibTorch has at::_grouped_mm (2.11+)";
  const torch::Tensor x = torch::randn({4, 3});
  try {
    grouped_mm_experts(x, torch::randn({2, 3, 5}), torch::randn({2, 5, 3}), torch::Tensor(), torch::ones({1}),
                       torch::zeros({1}, torch::kLong), torch::tensor({1, 0}), ActivationKind::gelu);
    FAIL() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs LibTorch 2.11"), std::string::npos) << e.what();
  }
}

}  // namespace lab::batched_experts_test
