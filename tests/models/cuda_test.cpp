// The MoE layer on a CUDA device against the same layer on the CPU (outputs and every gradient within
// 1e-4, fp32), lab's combine kernel against its CPU twin (equal bit for bit: both add each token's
// rows in the same order), the layer's forward and backward bit-identical across runs (fp32 and bf16),
// and at::_grouped_mm against the padded products in bf16 (outputs and gradients within 2e-2, an idle
// expert's weight gradients zero). Skipped, saying why, without a CUDA device;
// scripts/gpu_check.sh runs them on one.
#include <gtest/gtest.h>

#include <torch/version.h>

#include "models/autocast.h"
#include "models/batched_experts.h"
#include "models/combine_rows.h"
#include "models/kernels.h"
#include "models/moe_layer.h"
#include "models/router.h"

namespace lab::cuda_test {

#define LAB_SKIP_WITHOUT_CUDA()                                                                            \
  if (!torch::cuda::is_available())                                                                        \
  GTEST_SKIP() << "no CUDA device here (this build: LibTorch " << TORCH_VERSION << ", lab's CUDA kernels " \
               << (cuda_kernels_built() ? "built" : "not built") << "); scripts/gpu_check.sh runs it on one"

ModelConfig moe(RouterKind router, ActivationKind activation) {
  ModelConfig c;
  c.d_model = 32;
  c.d_ff = 32;
  c.heads = 2;
  c.ffn = FfnKind::moe;
  c.experts = 8;
  c.top_k = 3;  // three rows per token: a sum whose order could change its bits (two could not)
  c.expert_width = 24;
  c.router = router;
  c.activation = activation;
  return c;
}

// y and the gradients of the input and of every parameter, for one forward and backward.
std::vector<torch::Tensor> forward_backward(MoeLayer& layer, const torch::Tensor& x,
                                            const torch::Tensor& upstream) {
  layer->zero_grad();
  const torch::Tensor input = x.detach().clone().requires_grad_();
  const torch::Tensor y = layer->forward(input).y;
  (y * upstream).sum().backward();
  std::vector<torch::Tensor> out = {y.detach().cpu(), input.grad().cpu()};
  for (const auto& p : layer->named_parameters()) out.push_back(p.value().grad().cpu());
  return out;
}

TEST(Cuda, MoeLayerMatchesTheCpuLayer) {
  LAB_SKIP_WITHOUT_CUDA();
  for (const auto& [name, router, activation] :
       {std::tuple{"token choice, gelu", RouterKind::token_choice, ActivationKind::gelu},
        std::tuple{"token choice, swiglu", RouterKind::token_choice, ActivationKind::swiglu},
        std::tuple{"expert choice, gelu", RouterKind::expert_choice, ActivationKind::gelu}}) {
    SCOPED_TRACE(name);
    const ModelConfig config = moe(router, activation);
    torch::manual_seed(1);
    MoeLayer cpu(config);
    torch::manual_seed(1);
    MoeLayer gpu(config);
    gpu->to(torch::kCUDA);
    const torch::Tensor x = torch::randn({4, 50, config.d_model}),
                        upstream = torch::randn({4, 50, config.d_model});
    const auto expected = forward_backward(cpu, x, upstream);
    const auto got = forward_backward(gpu, x.cuda(), upstream.cuda());
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[i], expected[i], 1e-4, 1e-4))
          << "tensor " << i << " (y, dx, then the parameters): max difference "
          << (got[i] - expected[i]).abs().max().item<double>();
    }
  }
}

// fp32 and bf16 autocast (where the dispatch's gradient is combined in fp32), three rows per token.
TEST(Cuda, MoeLayerIsBitIdenticalAcrossRuns) {
  LAB_SKIP_WITHOUT_CUDA();
  for (const bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16 autocast" : "fp32");
    torch::manual_seed(2);
    MoeLayer gpu(moe(RouterKind::token_choice, ActivationKind::gelu));
    gpu->to(torch::kCUDA);
    const torch::Tensor x = torch::randn({8, 64, 32}).cuda(), upstream = torch::randn({8, 64, 32}).cuda();
    auto run = [&] {
      AutocastGuard autocast(torch::kCUDA, torch::kBFloat16, bf16);
      return forward_backward(gpu, x, upstream);
    };
    const auto first = run(), second = run();
    for (std::size_t i = 0; i < first.size(); ++i)
      EXPECT_TRUE(torch::equal(first[i], second[i])) << "tensor " << i;
  }
}

TEST(Cuda, CombineKernelEqualsItsCpuTwin) {
  LAB_SKIP_WITHOUT_CUDA();
  if (!cuda_kernels_built()) GTEST_SKIP() << "this build has no lab CUDA kernels (the torch2 preset has)";
  torch::manual_seed(3);
  const std::int64_t rows = 5000, tokens = 1200, width = 96;
  const torch::Tensor data = torch::randn({rows, width}) * torch::pow(10.0, torch::randint(-3, 4, {rows, 1}));
  const torch::Tensor token_of_row = torch::randint(0, tokens, {rows});
  const torch::Tensor cpu = combine_rows(data, token_of_row, tokens);
  const torch::Tensor gpu = combine_rows(data.cuda(), token_of_row.cuda(), tokens).cpu();
  EXPECT_TRUE(torch::equal(gpu, cpu)) << "max difference " << (gpu - cpu).abs().max().item<double>();
}

TEST(Cuda, GroupedMmMatchesThePaddedProductsInBf16) {
  LAB_SKIP_WITHOUT_CUDA();
  if (!grouped_mm_available()) GTEST_SKIP() << "at::_grouped_mm needs LibTorch 2.11+";
  torch::manual_seed(4);
  const std::int64_t n = 256, d = 64, w = 128, experts = 8;
  torch::Tensor logits = torch::randn({n, experts});
  logits.select(1, 5).fill_(-30);  // expert 5 gets no row: its weights' gradient must be zero
  const Routing r = route_token_choice(logits.cuda(), 2);
  auto bf16 = [](std::initializer_list<std::int64_t> shape) {
    return (torch::randn(shape) * 0.3).to(torch::kCUDA, torch::kBFloat16).requires_grad_();
  };
  const torch::Tensor x = bf16({n, d}), w1 = bf16({experts, d, w}), w2 = bf16({experts, w, d});
  const torch::Tensor weight = r.weight_of_row.detach().to(torch::kBFloat16);
  const torch::Tensor upstream = torch::randn({n, d}).cuda();
  auto run = [&](bool grouped) {
    KernelsGuard kernels(grouped ? Kernels::fused : Kernels::reference);  // reference: the padded products
    const torch::Tensor y = grouped ? grouped_mm_experts(x, w1, w2, {}, weight, r.token_of_row,
                                                         r.tokens_per_expert, ActivationKind::gelu)
                                    : batched_experts(x, w1, w2, {}, weight, r.token_of_row,
                                                      r.tokens_per_expert, ActivationKind::gelu);
    std::vector<torch::Tensor> out = {y.detach().cpu().to(torch::kFloat32)};
    for (const torch::Tensor& g :
         torch::autograd::grad({(y.to(torch::kFloat32) * upstream).sum()}, {x, w1, w2}))
      out.push_back(g.cpu().to(torch::kFloat32));
    return out;
  };
  const auto grouped = run(true), padded = run(false);
  const char* names[] = {"y", "dx", "dw1", "dw2"};
  for (std::size_t i = 0; i < grouped.size(); ++i) {
    EXPECT_TRUE(torch::allclose(grouped[i], padded[i], 2e-2, 2e-2))
        << names[i] << ": max difference " << (grouped[i] - padded[i]).abs().max().item<double>();
  }
  EXPECT_TRUE(torch::equal(grouped[2][5], torch::zeros_like(grouped[2][5]))) << "dw1 of the idle expert";
  EXPECT_TRUE(torch::equal(grouped[3][5], torch::zeros_like(grouped[3][5]))) << "dw2 of the idle expert";
}

}  // namespace lab::cuda_test
