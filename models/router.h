#pragma once
// MoE routing: from router logits to the list of (token, expert, weight) rows the experts compute,
// sorted by expert so each expert's rows are contiguous, plus the auxiliary losses.
//
// - Token choice (Mixtral): softmax over experts, each token takes its top_k experts and renormalises
//   their k weights to sum to 1. Dropless: every token gets exactly top_k rows.
// - Expert choice (Zhou et al. 2022): softmax over experts, then within each group of tokens every
//   expert takes the `capacity` tokens with the highest probability for it, weighted by that
//   probability. Balanced by construction; a token may reach 0 or several experts. The choice of a
//   token depends on the other tokens of its group, so expert choice is not causal.
//
// Logits, softmax and weights are fp32 whatever the model's dtype.

#include <vector>

#include <torch/torch.h>

namespace lab {

struct Routing {
  torch::Tensor token_of_row;                 // [R] int64: the token each row reads, grouped by expert
  torch::Tensor weight_of_row;                // [R] fp32: its combine weight (differentiable)
  std::vector<std::int64_t> rows_per_expert;  // [E]: rows of expert 0, then expert 1, ... (sum R); CPU only
  torch::Tensor tokens_per_expert;            // [E] int64: the same counts as a tensor (router statistics)
  torch::Tensor load_balance_loss;            // scalar fp32, unscaled: E * sum_i f_i P_i (>= 1, 1 = balanced)
  torch::Tensor z_loss;                       // scalar fp32, unscaled: mean_t logsumexp(logits_t)^2
  torch::Tensor entropy;  // scalar fp32, detached: mean_t of the router softmax's entropy (nats)
};

// logits: [N, E] fp32. Switch load-balancing loss with f_i = share of the N * top_k rows that go to
// expert i and P_i = mean router probability of expert i.
Routing route_token_choice(const torch::Tensor& logits, std::int64_t top_k);

// logits: [N, E] fp32, cut into groups of group_size tokens and, when N is not a multiple of it, a
// last, shorter group of N % group_size tokens (a batch of variable-length examples has any N).
// Each expert takes `capacity` tokens of every whole group and `tail_capacity` of the last one.
// The load-balancing loss is identically 1 here (f_i = 1/E) and is returned as the constant 1 so
// logs stay comparable; it carries no gradient.
Routing route_expert_choice(const torch::Tensor& logits, std::int64_t group_size, std::int64_t capacity,
                            std::int64_t tail_capacity = 0);

}  // namespace lab
