// The grouped MoE against an independent brute-force reference: each token routed on its own and
// its experts run one at a time with plain tensor ops, gradients by autograd through that loop.
#include "models/moe_layer.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "models/autocast.h"
#include "models/dense_ffn.h"

namespace lab {
namespace {

ModelConfig moe_config(std::int64_t experts, std::int64_t top_k, RouterKind router,
                       ActivationKind activation) {
  ModelConfig c;
  c.d_model = 16;
  c.d_ff = 16;
  c.heads = 2;
  c.ffn = FfnKind::moe;
  c.experts = experts;
  c.top_k = top_k;
  c.expert_width = 8;
  c.router = router;
  c.activation = activation;
  return c;
}

ModelConfig fine_grained_top8(RouterKind router) {
  ModelConfig c = moe_config(0, 1, router, ActivationKind::gelu);
  c.expert_width = 0;
  c.granularity = 8;
  c.expansion = 2;  // 16 experts of width 2, top-8
  return c;
}

// One expert on one token: x [D] -> [D].
torch::Tensor expert_ref(const MoeLayerImpl& m, std::int64_t e, const torch::Tensor& x) {
  torch::Tensor pre = x.matmul(m.w1[e]);  // [W]
  torch::Tensor h =
      m.config.activation == ActivationKind::swiglu ? torch::silu(pre) * x.matmul(m.w3[e]) : torch::gelu(pre);
  return h.matmul(m.w2[e]);  // [D]
}

// x: [N, D] -> [N, D]
torch::Tensor brute_force_moe(const MoeLayerImpl& m, const torch::Tensor& x) {
  const std::int64_t n = x.size(0), e_count = m.config.moe_experts();
  torch::Tensor probs = torch::softmax(x.matmul(m.router.t()), -1);  // [N, E]
  std::vector<torch::Tensor> y(n, torch::zeros({x.size(1)}));
  if (m.config.router == RouterKind::token_choice) {
    for (std::int64_t t = 0; t < n; ++t) {
      auto [w, idx] = probs[t].topk(m.config.moe_top_k());
      w = w / w.sum();
      for (std::int64_t j = 0; j < idx.size(0); ++j)
        y[t] = y[t] + w[j] * expert_ref(m, idx[j].item<std::int64_t>(), x[t]);
    }
  } else {
    // Groups of group_size tokens, the last one shorter when n is not a multiple of it.
    const std::int64_t group = m.config.group_size > 0 ? m.config.group_size : n;
    for (std::int64_t start = 0; start < n; start += group) {
      const std::int64_t size = std::min(group, n - start);
      const std::int64_t capacity = m.config.expert_capacity(size);
      for (std::int64_t e = 0; e < e_count; ++e) {
        auto [w, idx] = probs.narrow(0, start, size).select(1, e).topk(capacity);
        for (std::int64_t j = 0; j < capacity; ++j) {
          const std::int64_t t = start + idx[j].item<std::int64_t>();
          y[t] = y[t] + w[j] * expert_ref(m, e, x[t]);
        }
      }
    }
  }
  return torch::stack(y);
}

struct Grads {
  torch::Tensor y, x, w1, w2, w3, router;
};

Grads run(MoeLayer& m, const torch::Tensor& x_in, const torch::Tensor& probe, bool reference) {
  for (torch::Tensor& p : m->parameters()) p.mutable_grad() = torch::Tensor();
  torch::Tensor x = x_in.clone().requires_grad_(true);
  torch::Tensor y = reference ? brute_force_moe(*m, x) : m(x).y;
  (y * probe).sum().backward();
  return {
      y.detach(),      x.grad(), m->w1.grad(), m->w2.grad(), m->w3.defined() ? m->w3.grad() : torch::Tensor(),
      m->router.grad()};
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  // fp32 throughout; the two paths sum the same terms in a different order.
  EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/1e-4, /*atol=*/1e-5))
      << what << ": max abs difference " << (got - want).abs().max().item<float>();
}

// With one thread and with two (the experts split between threads, each with its own partial sums),
// whatever the machine's default.
void expect_matches_brute_force(const ModelConfig& c, std::int64_t tokens) {
  torch::manual_seed(7);
  MoeLayer m(c);
  torch::Tensor x = torch::randn({tokens, c.d_model});
  torch::Tensor probe = torch::randn({tokens, c.d_model});  // a random cotangent for the backward pass
  Grads ref = run(m, x, probe, true);
  EXPECT_GT(ref.y.abs().max().item<float>(), 1e-3);  // the comparison is not between zeros
  const int before = torch::get_num_threads();
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << threads << " thread(s)");
    torch::set_num_threads(threads);
    Grads fused = run(m, x, probe, false);
    expect_close(fused.y, ref.y, "output");
    expect_close(fused.x, ref.x, "grad x");
    expect_close(fused.w1, ref.w1, "grad w1");
    expect_close(fused.w2, ref.w2, "grad w2");
    if (ref.w3.defined()) expect_close(fused.w3, ref.w3, "grad w3");
    expect_close(fused.router, ref.router, "grad router");
  }
  torch::set_num_threads(before);
}

TEST(MoeLayer, TokenChoiceTop1MatchesBruteForce) {
  expect_matches_brute_force(moe_config(4, 1, RouterKind::token_choice, ActivationKind::gelu), 24);
}

TEST(MoeLayer, TokenChoiceTop2MatchesBruteForce) {
  expect_matches_brute_force(moe_config(4, 2, RouterKind::token_choice, ActivationKind::gelu), 24);
  expect_matches_brute_force(moe_config(4, 2, RouterKind::token_choice, ActivationKind::swiglu), 24);
}

TEST(MoeLayer, TokenChoiceFineGrainedTop8MatchesBruteForce) {
  expect_matches_brute_force(fine_grained_top8(RouterKind::token_choice), 24);
}

TEST(MoeLayer, ExpertChoiceMatchesBruteForce) {
  ModelConfig c = moe_config(4, 1, RouterKind::expert_choice, ActivationKind::gelu);
  expect_matches_brute_force(c, 24);
  c.top_k = 2;
  c.group_size = 12;
  c.capacity_factor = 1.5;
  expect_matches_brute_force(c, 24);
  c.activation = ActivationKind::swiglu;
  expect_matches_brute_force(c, 24);
  expect_matches_brute_force(fine_grained_top8(RouterKind::expert_choice), 24);
  // A batch that is not a whole number of groups (variable-length examples, decoding): 29 tokens are
  // two groups of 12 and a last group of 5 with its own capacity; fewer tokens than a group: one group.
  expect_matches_brute_force(c, 29);
  expect_matches_brute_force(c, 7);
}

TEST(MoeLayer, AnExpertNoTokenReachesGetsExactlyZeroGradients) {
  // The gradients of experts without rows are the only ones the layer zeroes itself.
  ModelConfig c = moe_config(4, 2, RouterKind::token_choice, ActivationKind::swiglu);
  torch::manual_seed(8);
  MoeLayer m(c);
  torch::Tensor x = torch::randn({24, c.d_model}).abs();  // positive inputs
  {
    torch::NoGradGuard no_grad;
    m->router[2].fill_(-100);  // so expert 2's logit is far below every other expert's
  }
  const Routing r = m->route(x);
  ASSERT_EQ(r.rows_per_expert[2], 0);
  const torch::Tensor probe = torch::randn({24, c.d_model});
  Grads fused = run(m, x, probe, false);
  Grads ref = run(m, x, probe, true);
  EXPECT_TRUE(torch::equal(fused.w1[2], torch::zeros_like(fused.w1[2])));
  EXPECT_TRUE(torch::equal(fused.w2[2], torch::zeros_like(fused.w2[2])));
  EXPECT_TRUE(torch::equal(fused.w3[2], torch::zeros_like(fused.w3[2])));
  expect_close(fused.y, ref.y, "output");
  expect_close(fused.w1, ref.w1, "grad w1");
  expect_close(fused.w2, ref.w2, "grad w2");
  expect_close(fused.w3, ref.w3, "grad w3");
  expect_close(fused.x, ref.x, "grad x");
}

TEST(MoeLayer, TheExpertsRunOnSeveralThreads) {
  // at::parallel_for is a header template: compiled without OpenMP it runs every range on the calling
  // thread, as the experts' split once did unnoticed. LibTorch code here is built as grouped_experts.cpp.
  const int before = torch::get_num_threads();
  torch::set_num_threads(2);
  std::set<int> threads;
  at::parallel_for(0, 2, 1, [&](std::int64_t, std::int64_t) {
#pragma omp critical
    threads.insert(at::get_thread_num());
  });
  torch::set_num_threads(before);
  EXPECT_EQ(threads.size(), 2u);
}

TEST(MoeLayer, OneExpertTop1EqualsTheDenseFfnWithTheSameWeights) {
  for (ActivationKind activation : {ActivationKind::gelu, ActivationKind::swiglu}) {
    torch::manual_seed(3);
    ModelConfig c = moe_config(1, 1, RouterKind::token_choice, activation);
    c.expert_width = 0;  // = d_ff
    MoeLayer moe(c);
    DenseFfn dense(c.d_model, c.ffn_width(), activation);
    {
      torch::NoGradGuard no_grad;
      moe->w1[0].copy_(dense->w1->weight.t());  // Linear weights are [out, in], experts [in, out]
      moe->w2[0].copy_(dense->w2->weight.t());
      if (dense->w3) moe->w3[0].copy_(dense->w3->weight.t());
    }
    torch::Tensor x1 = torch::randn({2, 5, c.d_model}).requires_grad_(true);
    torch::Tensor x2 = x1.detach().clone().requires_grad_(true);
    torch::Tensor probe = torch::randn({2, 5, c.d_model});
    torch::Tensor y_moe = moe(x1).y;  // [2, 5, D]
    torch::Tensor y_dense = dense(x2);
    (y_moe * probe).sum().backward();
    (y_dense * probe).sum().backward();
    expect_close(y_moe, y_dense, "output");
    expect_close(x1.grad(), x2.grad(), "grad x");
    expect_close(moe->w1.grad()[0], dense->w1->weight.grad().t(), "grad w1");
    expect_close(moe->w2.grad()[0], dense->w2->weight.grad().t(), "grad w2");
  }
}

// Token t's experts as the rows say: expert -> weight.
std::vector<std::map<std::int64_t, double>> experts_by_token(const Routing& r, std::int64_t n) {
  std::vector<std::map<std::int64_t, double>> of(n);
  std::int64_t row = 0;
  for (size_t expert = 0; expert < r.rows_per_expert.size(); ++expert) {
    for (std::int64_t i = 0; i < r.rows_per_expert[expert]; ++i, ++row) {
      of[r.token_of_row[row].item<std::int64_t>()][static_cast<std::int64_t>(expert)] =
          r.weight_of_row[row].item<double>();
    }
  }
  return of;
}

TEST(Router, TokenChoiceSendsEveryTokenToExactlyKDistinctExpertsWithWeightsSummingToOne) {
  torch::manual_seed(1);
  const std::int64_t n = 50, e = 16, k = 8;
  torch::Tensor logits = torch::randn({n, e}) * 3;
  Routing r = route_token_choice(logits, k);
  ASSERT_EQ(r.token_of_row.size(0), n * k);  // dropless: with k distinct experts each, no row repeats
  for (std::int64_t expert = 0; expert < e; ++expert) {
    EXPECT_EQ(r.tokens_per_expert[expert].item<std::int64_t>(), r.rows_per_expert[expert]);
  }
  const auto of = experts_by_token(r, n);
  for (std::int64_t t = 0; t < n; ++t) {
    EXPECT_EQ(of[t].size(), static_cast<size_t>(k)) << "token " << t;
    double weight_sum = 0;
    for (const auto& [expert, weight] : of[t]) weight_sum += weight;
    EXPECT_NEAR(weight_sum, 1.0, 1e-5) << "token " << t;
  }
}

TEST(Router, TokenChoiceTakesTheKMostProbableExpertsOfEveryToken) {
  // More tokens than one thread's share, 64 experts top-8 as in the fine-grained benchmarks.
  torch::manual_seed(4);
  const std::int64_t n = 700, e = 64, k = 8;
  torch::Tensor logits = torch::randn({n, e}) * 2;
  const auto of = experts_by_token(route_token_choice(logits, k), n);
  torch::Tensor probs = torch::softmax(logits, -1);
  for (std::int64_t t = 0; t < n; ++t) {
    std::vector<std::pair<double, std::int64_t>> by_prob;  // the reference: sort the token's probabilities
    for (std::int64_t j = 0; j < e; ++j) by_prob.emplace_back(probs[t][j].item<double>(), j);
    std::sort(by_prob.rbegin(), by_prob.rend());
    double top_sum = 0;
    for (std::int64_t j = 0; j < k; ++j) top_sum += by_prob[j].first;
    ASSERT_EQ(of[t].size(), static_cast<size_t>(k)) << "token " << t;
    for (std::int64_t j = 0; j < k; ++j) {
      const auto it = of[t].find(by_prob[j].second);
      ASSERT_NE(it, of[t].end()) << "token " << t << " lacks its expert of rank " << j;
      EXPECT_NEAR(it->second, by_prob[j].first / top_sum, 1e-6);
    }
  }
}

TEST(Router, TokenChoiceGivesATokenWithNanLogitsKDistinctExperts) {
  torch::Tensor logits = torch::randn({4, 6});
  logits[1].fill_(std::numeric_limits<float>::quiet_NaN());  // softmax: a row of NaN
  const auto of = experts_by_token(route_token_choice(logits, 3), 4);
  for (std::int64_t t = 0; t < 4; ++t) EXPECT_EQ(of[t].size(), 3u) << "token " << t;
}

TEST(Router, ExpertChoiceGivesEveryExpertExactlyItsCapacityPerGroup) {
  torch::manual_seed(2);
  const std::int64_t n = 48, e = 6, group = 16, capacity = 5;
  Routing r = route_expert_choice(torch::randn({n, e}), group, capacity);
  ASSERT_EQ(r.token_of_row.size(0), e * (n / group) * capacity);
  std::int64_t row = 0;
  for (std::int64_t expert = 0; expert < e; ++expert) {
    ASSERT_EQ(r.rows_per_expert[expert], (n / group) * capacity);
    std::vector<std::set<std::int64_t>> per_group(n / group);
    for (std::int64_t i = 0; i < r.rows_per_expert[expert]; ++i, ++row) {
      const std::int64_t t = r.token_of_row[row].item<std::int64_t>();
      per_group[t / group].insert(t);
    }
    for (const auto& tokens : per_group) EXPECT_EQ(tokens.size(), static_cast<size_t>(capacity));
  }
  // A last, shorter group of 8 tokens: each expert takes 3 of them after its 5 of each whole group.
  Routing tail = route_expert_choice(torch::randn({n + 8, e}), group, capacity, 3);
  row = 0;
  for (std::int64_t expert = 0; expert < e; ++expert) {
    ASSERT_EQ(tail.rows_per_expert[expert], (n / group) * capacity + 3);
    std::set<std::int64_t> last_group;
    for (std::int64_t i = 0; i < tail.rows_per_expert[expert]; ++i, ++row) {
      const std::int64_t t = tail.token_of_row[row].item<std::int64_t>();
      if (t >= n) last_group.insert(t);
    }
    EXPECT_EQ(last_group.size(), 3u);
  }
  EXPECT_LT(tail.token_of_row.max().item<std::int64_t>(), n + 8);
  // The capacity the layer uses: capacity_factor * top_k * group / experts, rounded up.
  ModelConfig c = moe_config(8, 2, RouterKind::expert_choice, ActivationKind::gelu);
  c.capacity_factor = 1.25;
  EXPECT_EQ(c.expert_capacity(64), 20);
}

TEST(Router, LoadBalancingLossIsOneUnderPerfectBalanceAndGrowsWithImbalance) {
  // Perfect balance: token t prefers expert t % 4 with the same margin, so f_i = P_i = 1/4.
  const std::int64_t e = 4;
  torch::Tensor balanced = torch::zeros({8, e});
  for (std::int64_t t = 0; t < 8; ++t) balanced[t][t % e] = 2.0;
  EXPECT_NEAR(route_token_choice(balanced, 1).load_balance_loss.item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(route_token_choice(balanced, 2).load_balance_loss.item<double>(), 1.0, 1e-6);

  // Collapse: every token prefers expert 0 with logit L: f = (1, 0, 0, 0), P_0 = e^L / (e^L + 3).
  const double l = 2.0;
  torch::Tensor collapsed = torch::zeros({8, e});
  collapsed.select(1, 0).fill_(l);
  const double p0 = std::exp(l) / (std::exp(l) + 3.0);
  EXPECT_NEAR(route_token_choice(collapsed, 1).load_balance_loss.item<double>(), e * p0, 1e-5);
  EXPECT_GT(e * p0, 1.0);
}

TEST(Router, ZLossIsTheMeanSquaredLogsumexp) {
  torch::Tensor zeros = torch::zeros({5, 8});  // logsumexp = log 8 for every token
  EXPECT_NEAR(route_token_choice(zeros, 2).z_loss.item<double>(), std::pow(std::log(8.0), 2), 1e-5);
  torch::Tensor logits = torch::tensor({{0.0f, 0.0f}, {3.0f, 1.0f}});
  const double a = std::log(2.0), b = 3.0 + std::log(1.0 + std::exp(-2.0));
  EXPECT_NEAR(route_token_choice(logits, 1).z_loss.item<double>(), (a * a + b * b) / 2.0, 1e-5);
  EXPECT_NEAR(route_expert_choice(logits, 2, 1).z_loss.item<double>(), (a * a + b * b) / 2.0, 1e-5);
}

TEST(Router, EntropyIsLogEForUniformLogitsAndNearZeroForConfidentOnes) {
  // The mean entropy of the routing softmax, by hand: uniform rows give log(E), a row with one
  // logit 50 above the rest gives ~(E-1) * 50 * e^-50 ~ 0.
  const std::int64_t e = 8;
  torch::Tensor uniform = torch::zeros({5, e});
  EXPECT_NEAR(route_token_choice(uniform, 2).entropy.item<double>(), std::log(8.0), 1e-6);
  EXPECT_NEAR(route_expert_choice(uniform, 5, 1).entropy.item<double>(), std::log(8.0), 1e-6);
  torch::Tensor confident = torch::zeros({5, e});
  confident.index_put_({torch::indexing::Slice(), 3}, 50.0);
  EXPECT_LT(route_token_choice(confident, 1).entropy.item<double>(), 1e-15);
  // Half the tokens uniform over two experts, half certain: mean entropy log(2) / 2.
  torch::Tensor mixed = torch::full({4, e}, -1e4);
  mixed.index_put_({torch::indexing::Slice(0, 2), torch::indexing::Slice(0, 2)}, 0.0);
  mixed.index_put_({torch::indexing::Slice(2, 4), 5}, 0.0);
  EXPECT_NEAR(route_token_choice(mixed, 1).entropy.item<double>(), std::log(2.0) / 2, 1e-6);
}

TEST(MoeLayer, Bf16AutocastRunsExpertsInBf16AndKeepsTheRouterInFp32) {
  torch::manual_seed(5);
  MoeLayer m(moe_config(4, 2, RouterKind::token_choice, ActivationKind::gelu));
  torch::Tensor x = torch::randn({32, 16});
  Routing fp32_routing = m->route(x);
  MoeOutput fp32 = m(x);
  MoeOutput bf16;
  {
    AutocastGuard autocast(torch::kCPU, torch::kBFloat16);
    Routing r = m->route(x);
    EXPECT_EQ(r.weight_of_row.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(r.token_of_row, fp32_routing.token_of_row));
    EXPECT_TRUE(torch::equal(r.weight_of_row, fp32_routing.weight_of_row));
    bf16 = m(x);
  }
  EXPECT_FALSE(autocast_enabled(torch::kCPU));       // the guard restored the previous state
  EXPECT_EQ(bf16.y.scalar_type(), torch::kFloat32);  // bf16 experts, their k outputs summed in fp32
  EXPECT_FALSE(torch::equal(bf16.y, fp32.y));        // the experts did run in bf16
  EXPECT_EQ(bf16.load_balance_loss.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(bf16.y.to(torch::kFloat32), fp32.y, 0.05, 0.02));
  bf16.y.to(torch::kFloat32).sum().backward();
  EXPECT_EQ(m->w1.grad().scalar_type(), torch::kFloat32);
  EXPECT_TRUE(m->router.grad().isfinite().all().item<bool>());
}

}  // namespace
}  // namespace lab
