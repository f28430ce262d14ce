// The MoE combine (models/combine_rows.h) against a loop written here: each token's rows summed in
// row order, in float, as a plain sequential loop sums them (so equal bit for bit); the gradient a
// gather; the same as index_add (combine_rows_reference) up to the order of sums. On the CPU the
// combine runs the CUDA kernel's per-element function (models/cuda/combine_rows.h).
#include "models/combine_rows.h"

#include <gtest/gtest.h>

#include "models/kernels.h"

namespace lab::combine_rows_test {

// rows [R, D] fp32, token_of_row [R]: y[t] = sum of the rows of token t, in row order.
torch::Tensor loop_sum(const torch::Tensor& rows, const torch::Tensor& token_of_row, std::int64_t tokens) {
  torch::Tensor y = torch::zeros({tokens, rows.size(1)});
  auto out = y.accessor<float, 2>();
  auto in = rows.accessor<float, 2>();
  auto token = token_of_row.accessor<std::int64_t, 1>();
  for (std::int64_t r = 0; r < rows.size(0); ++r)
    for (std::int64_t f = 0; f < rows.size(1); ++f) out[token[r]][f] += in[r][f];
  return y;
}

TEST(CombineRows, SumsEachTokensRowsInRowOrder) {
  torch::manual_seed(3);
  for (const std::int64_t rows : {0, 1, 7, 300}) {
    SCOPED_TRACE(rows);
    const std::int64_t tokens = 23, width = 9;
    // Rows of large and small magnitudes, so that another order of the sums would change the result.
    const torch::Tensor data =
        torch::randn({rows, width}) * torch::pow(10.0, torch::randint(-3, 4, {rows, 1}));
    const torch::Tensor token_of_row = torch::randint(0, tokens - 2, {rows});  // the last 2 tokens get none
    const int threads_before = at::get_num_threads();
    for (const int threads : {1, 2}) {
      at::set_num_threads(threads);
      const torch::Tensor y = combine_rows(data, token_of_row, tokens);
      EXPECT_TRUE(torch::equal(y, loop_sum(data, token_of_row, tokens))) << threads << " threads";
    }
    at::set_num_threads(threads_before);
    EXPECT_TRUE(torch::allclose(combine_rows(data, token_of_row, tokens),
                                combine_rows_reference(data, token_of_row, tokens), 1e-5, 1e-4));
  }
}

TEST(CombineRows, GradientIsTheTokensGradientGathered) {
  torch::manual_seed(4);
  const std::int64_t rows = 50, tokens = 11, width = 6;
  const torch::Tensor data = torch::randn({rows, width}, torch::requires_grad());
  const torch::Tensor token_of_row = torch::randint(0, tokens, {rows});
  const torch::Tensor upstream = torch::randn({tokens, width});
  const torch::Tensor grad =
      torch::autograd::grad({(combine_rows(data, token_of_row, tokens) * upstream).sum()}, {data})[0];
  EXPECT_TRUE(torch::equal(grad, upstream.index_select(0, token_of_row)));
}

TEST(CombineRows, GatherRowsGradientIsTheCombine) {
  torch::manual_seed(5);
  const std::int64_t rows = 40, tokens = 9, width = 5;
  const torch::Tensor x = torch::randn({tokens, width}, torch::requires_grad());
  const torch::Tensor token_of_row = torch::randint(0, tokens, {rows});
  const torch::Tensor gathered = gather_rows(x, token_of_row);
  EXPECT_TRUE(torch::equal(gathered, x.detach().index_select(0, token_of_row)));
  const torch::Tensor upstream =
      torch::randn({rows, width}) * torch::pow(10.0, torch::randint(-3, 4, {rows, 1}));
  const torch::Tensor grad = torch::autograd::grad({(gathered * upstream).sum()}, {x})[0];
  EXPECT_TRUE(torch::equal(grad, loop_sum(upstream, token_of_row, tokens)));
}

TEST(CombineRows, A16BitGatherGradientIsCombinedInFp32) {
  torch::manual_seed(6);
  const std::int64_t rows = 60, tokens = 7, width = 4;
  const torch::Tensor x = torch::randn({tokens, width}).to(torch::kBFloat16).requires_grad_();
  const torch::Tensor token_of_row = torch::randint(0, tokens, {rows});
  const torch::Tensor upstream = torch::randn({rows, width}).to(torch::kBFloat16);
  const torch::Tensor grad = torch::autograd::grad({(gather_rows(x, token_of_row) * upstream).sum()}, {x})[0];
  EXPECT_EQ(grad.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(
      torch::equal(grad, loop_sum(upstream.to(torch::kFloat32), token_of_row, tokens).to(torch::kBFloat16)));
}

TEST(CombineRows, OtherDtypesAndTheReferenceKernelsTakeIndexAdd) {
  const torch::Tensor data = torch::randn({5, 4}).to(torch::kBFloat16);
  const torch::Tensor token_of_row = torch::tensor({0, 2, 0, 1, 2});
  EXPECT_TRUE(
      torch::equal(combine_rows(data, token_of_row, 3), combine_rows_reference(data, token_of_row, 3)));
  KernelsGuard reference(Kernels::reference);
  const torch::Tensor fp32 = data.to(torch::kFloat32);
  EXPECT_TRUE(
      torch::equal(combine_rows(fp32, token_of_row, 3), combine_rows_reference(fp32, token_of_row, 3)));
}

}  // namespace lab::combine_rows_test
