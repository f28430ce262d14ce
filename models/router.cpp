#include "models/router.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace lab {
namespace {

torch::Tensor z_loss_of(const torch::Tensor& logits) { return torch::logsumexp(logits, -1).pow(2).mean(); }

// Mean entropy of the tokens' routing distributions: 0 when every token is sure of one expert,
// log(E) when it is uniform. A statistic for probes and logs, never differentiated.
torch::Tensor entropy_of(const torch::Tensor& logits) {
  torch::NoGradGuard no_grad;
  torch::Tensor log_p = torch::log_softmax(logits, -1);
  return -(log_p.exp() * log_p).sum(-1).mean();
}

std::vector<std::int64_t> to_vector(const torch::Tensor& counts) {
  torch::Tensor c = counts.to(torch::kCPU, torch::kInt64).contiguous();
  return std::vector<std::int64_t>(c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel());
}

// The permutation that sorts `expert` ([R] int64 in [0, E)) stably, and the count of each expert
// ([E] int64). On CPU a counting sort, one pass to count and one to place (torch::sort's stable sort
// took ~1.4 ms of a 40 ms MoE layer at 32k rows); elsewhere torch::sort, and the counts by
// searchsorted on the sorted ids.
std::pair<torch::Tensor, torch::Tensor> stable_order_by_expert(const torch::Tensor& expert,
                                                               std::int64_t experts) {
  if (!expert.is_cpu()) {
    // Counts from the sorted ids (bincount would read their range back to the host).
    auto [sorted, order] = torch::sort(expert, /*stable=*/true, /*dim=*/0, /*descending=*/false);
    const torch::Tensor ends = torch::searchsorted(sorted, torch::arange(experts + 1, expert.options()));
    return {order, ends.slice(0, 1) - ends.slice(0, 0, experts)};
  }
  const torch::Tensor keys = expert.contiguous();
  const std::int64_t rows = keys.size(0);
  const std::int64_t* key = keys.data_ptr<std::int64_t>();
  torch::Tensor counts = torch::zeros({experts}, keys.options());
  std::int64_t* count = counts.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < rows; ++i) {
    TORCH_CHECK(key[i] >= 0 && key[i] < experts, "router: expert index ", key[i], " out of [0, ", experts,
                ")");
    ++count[key[i]];
  }
  std::vector<std::int64_t> next(experts, 0);  // where expert e's next row goes
  for (std::int64_t e = 1; e < experts; ++e) next[e] = next[e - 1] + count[e - 1];
  torch::Tensor order = torch::empty({rows}, keys.options());
  std::int64_t* out = order.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < rows; ++i) out[next[key[i]]++] = i;
  return {order, counts};
}

// The k experts of highest probability of each token, in descending order, and their probabilities
// (differentiable, gathered from probs): ([N, k], [N, k] int64), as probs.topk(k, -1) gives them. On
// CPU an insertion into the k best of each row, parallel over tokens; ATen's topk took ~1.4 ms of a
// 30 ms MoE layer at 64 experts top-8. Equal probabilities keep the lower expert first; NaN ones
// come last (a token whose probabilities are all NaN takes experts 0..k-1).
std::pair<torch::Tensor, torch::Tensor> top_k_experts(const torch::Tensor& probs, std::int64_t k) {
  if (!probs.is_cpu() || probs.scalar_type() != torch::kFloat32) {
    auto [w, idx] = probs.topk(k, -1);
    return {w, idx};
  }
  const torch::Tensor p = probs.detach().contiguous();
  const std::int64_t n = p.size(0), e = p.size(1);
  torch::Tensor idx = torch::empty({n, k}, p.options().dtype(torch::kInt64));
  const float* prob = p.data_ptr<float>();
  std::int64_t* best = idx.data_ptr<std::int64_t>();
  at::parallel_for(0, n, 256, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> value(k);
    for (std::int64_t t = begin; t < end; ++t) {
      const float* row = prob + t * e;
      std::int64_t* chosen = best + t * k;
      std::int64_t filled = 0;
      for (std::int64_t j = 0; j < e; ++j) {
        const float v = row[j];
        if (filled == k && !(v > value[k - 1])) continue;
        if (std::isnan(v)) continue;
        std::int64_t slot =
            filled < k ? filled++ : k - 1;  // shift the smaller ones down; equal ones stay ahead
        for (; slot > 0 && value[slot - 1] < v; --slot) {
          value[slot] = value[slot - 1];
          chosen[slot] = chosen[slot - 1];
        }
        value[slot] = v;
        chosen[slot] = j;
      }
      for (std::int64_t j = 0; filled < k; ++j) {  // NaN probabilities: the first experts not yet chosen
        if (std::find(chosen, chosen + filled, j) == chosen + filled) chosen[filled++] = j;
      }
    }
  });
  return {probs.gather(1, idx), idx};
}

}  // namespace

Routing route_token_choice(const torch::Tensor& logits, std::int64_t top_k) {
  const std::int64_t n = logits.size(0), e = logits.size(1);
  torch::Tensor probs = torch::softmax(logits, -1);   // [N, E]
  auto [top_w, top_e] = top_k_experts(probs, top_k);  // [N, k]
  top_w = top_w / top_w.sum(-1, /*keepdim=*/true);

  torch::Tensor flat_expert = top_e.reshape({-1});  // [N*k], row r = token r / k
  // Stable: within one expert, rows stay in token order (deterministic dispatch).
  auto [order, counts] = stable_order_by_expert(flat_expert, e);
  Routing r;
  r.token_of_row = order.div(top_k, "floor");                    // [N*k]
  r.weight_of_row = top_w.reshape({-1}).index_select(0, order);  // [N*k]
  r.tokens_per_expert = counts;                                  // [E]
  // The CPU's grouped experts need the counts on the host; other devices keep them there (no sync).
  if (logits.is_cpu()) r.rows_per_expert = to_vector(r.tokens_per_expert);

  torch::Tensor f = r.tokens_per_expert.to(torch::kFloat32) / static_cast<double>(n * top_k);  // [E]
  torch::Tensor p = probs.mean(0);                                                             // [E]
  r.load_balance_loss = (f * p).sum() * static_cast<double>(e);
  r.z_loss = z_loss_of(logits);
  r.entropy = entropy_of(logits);
  return r;
}

Routing route_expert_choice(const torch::Tensor& logits, std::int64_t group_size, std::int64_t capacity,
                            std::int64_t tail_capacity) {
  const std::int64_t n = logits.size(0), e = logits.size(1);
  const std::int64_t groups = n / group_size, tail = n % group_size;
  TORCH_CHECK(capacity >= 1 && capacity <= group_size, "expert choice: bad capacity ", capacity);
  TORCH_CHECK(tail == 0 || (tail_capacity >= 1 && tail_capacity <= tail), "expert choice: bad capacity ",
              tail_capacity, " for the last group of ", tail, " tokens");
  torch::Tensor probs = torch::softmax(logits, -1);  // [N, E]
  // Whole groups: every expert's top `capacity` tokens of each group.
  torch::Tensor by_expert =
      probs.narrow(0, 0, groups * group_size).view({groups, group_size, e}).transpose(1, 2);
  auto [w, idx] = by_expert.topk(capacity, -1);  // [G, E, C]
  torch::Tensor group_start = torch::arange(groups, idx.options()).view({groups, 1, 1}) * group_size;
  torch::Tensor token = (idx + group_start).permute({1, 0, 2}).reshape({e, -1});  // [E, G*C]
  torch::Tensor weight = w.permute({1, 0, 2}).reshape({e, -1});                   // [E, G*C]
  if (tail > 0) {  // the last, shorter group: [E, C_tail] each, after the whole groups' rows
    auto [tail_w, tail_idx] = probs.narrow(0, groups * group_size, tail).t().topk(tail_capacity, -1);
    token = torch::cat({token, tail_idx + groups * group_size}, 1);
    weight = torch::cat({weight, tail_w}, 1);
  }
  const std::int64_t rows = groups * capacity + (tail > 0 ? tail_capacity : 0);  // per expert
  Routing r;
  r.token_of_row = token.reshape({-1});  // [E*rows], expert-major
  r.weight_of_row = weight.reshape({-1});
  r.rows_per_expert.assign(e, rows);
  r.tokens_per_expert = torch::full({e}, rows, idx.options());
  r.load_balance_loss = torch::ones({}, logits.options());
  r.z_loss = z_loss_of(logits);
  r.entropy = entropy_of(logits);
  return r;
}

}  // namespace lab
