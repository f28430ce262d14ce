// The row-split linear against torch::nn::functional::linear: outputs and both gradients at 2 and 3
// threads (and 1, where it is the plain product), for row counts that do and do not split evenly.
#include "models/parallel_linear.h"

#include <gtest/gtest.h>

#include "models/kernels.h"

namespace lab {
namespace {

TEST(ParallelLinear, MatchesThePlainLinearInOutputsAndGradients) {
  for (int threads : {1, 2, 3}) {
    torch::set_num_threads(threads);
    for (const std::vector<std::int64_t>& shape :
         {std::vector<std::int64_t>{7, 33, 64}, {1, 1, 16}, {2561, 48}}) {
      SCOPED_TRACE(::testing::Message() << "threads " << threads << " rows " << shape[0]);
      torch::manual_seed(5);
      torch::Tensor x = torch::randn(shape).requires_grad_();
      torch::Tensor w = torch::randn({40, shape.back()}).requires_grad_();
      torch::Tensor upstream = torch::randn(torch::nn::functional::linear(x, w).sizes());
      EXPECT_EQ(parallel_linear_applies(x, w), threads > 1);
      torch::Tensor y = linear_projection(x, w);
      (y * upstream).sum().backward();
      torch::Tensor x0 = x.detach().clone().requires_grad_(), w0 = w.detach().clone().requires_grad_();
      torch::Tensor y0 = torch::nn::functional::linear(x0, w0);
      (y0 * upstream).sum().backward();
      EXPECT_EQ(y.sizes(), y0.sizes());
      // Row slices of a product are the same dot products: equal up to the BLAS kernel's blocking.
      EXPECT_LT((y - y0).abs().max().item<double>(), 1e-4);
      EXPECT_LT((x.grad() - x0.grad()).abs().max().item<double>(), 1e-4);
      // dW adds per-thread partial sums over thousands of rows: relative to its size.
      EXPECT_LT((w.grad() - w0.grad()).abs().max().item<double>() / w0.grad().abs().max().item<double>(),
                1e-5);
    }
  }
  torch::set_num_threads(1);
}

TEST(ParallelLinear, StaysPlainForOtherDtypesAndTheReferenceKernels) {
  torch::set_num_threads(2);
  torch::Tensor x = torch::randn({8, 16}), w = torch::randn({4, 16});
  EXPECT_TRUE(parallel_linear_applies(x, w));
  EXPECT_FALSE(parallel_linear_applies(x.to(torch::kFloat64), w.to(torch::kFloat64)));
  {
    KernelsGuard reference(Kernels::reference);
    EXPECT_FALSE(parallel_linear_applies(x, w));
  }
  torch::set_num_threads(1);
}

}  // namespace
}  // namespace lab
