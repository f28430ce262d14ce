#pragma once
// Exact parameter and FLOP accounting of a ModelConfig, computed from the config alone (no tensor is
// built), so sweeps can place models by total and active parameters before training them.
//
// Conventions:
// - "embedding" parameters are the token embedding, the learned positions (if any) and the output
//   head (untied); everything else is "non-embedding" (N in the fine-grained scaling law).
// - "active" parameters are those one token uses: every non-expert parameter plus top_k experts
//   (expert choice: capacity_factor * top_k experts on average, rounded to whole experts' parameters).
// - FLOPs count matrix products only (2 per multiply-add), per token; training = forward + backward =
//   3 x forward. Attention scores count the full T x T product the kernels compute (the causal mask
//   is applied after), so they grow with seq_len. Norms, softmax, activations and the dispatch copies
//   are not counted.

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "core/fields.h"
#include "models/model_config.h"

namespace lab {

struct ParameterCounts {
  std::int64_t total = 0;                 // every parameter of the built model
  std::int64_t embedding = 0;             // token embedding + learned positions + output head
  std::int64_t non_embedding = 0;         // total - embedding
  std::int64_t active = 0;                // parameters one token uses (see the conventions above)
  std::int64_t active_non_embedding = 0;  // active - embedding
  std::int64_t router = 0;                // router matrices of all MoE layers (inside non_embedding)
  std::int64_t experts = 0;               // all experts' matrices of all MoE layers (0 for dense)
};

// Forward and training FLOPs per token for one sequence length.
struct FlopCounts {
  double attention_projections = 0;  // forward: q, k, v and output projections, 2 * 4 * d^2 per layer
  double attention_scores = 0;       // forward: q k^T and att v, 2 * 2 * seq_len * d per layer
  double ffn = 0;                    // forward: dense FFN, or the top_k active experts
  double routing = 0;                // forward: router logits, 2 * d * experts per MoE layer
  double head = 0;                   // forward: output head, 2 * d * vocab
  double forward = 0;                // the sum of the above
  double training = 0;               // forward + backward = 3 * forward
};

// The counts' fields (core/fields.h): their keys in `lab model-info --json` and probe.json.
template <typename Counts, typename Visit>
requires std::same_as<std::remove_const_t<Counts>, ParameterCounts>
void visit_fields(Counts& p, Visit&& visit) {
  visit(p.total, Field("total", "Every parameter of the built model"));
  visit(p.embedding, Field("embedding", "Token embedding, learned positions and output head"));
  visit(p.non_embedding, Field("non_embedding", "total - embedding (N of the fine-grained scaling law)"));
  visit(p.active, Field("active", "Parameters one token uses"));
  visit(p.active_non_embedding, Field("active_non_embedding", "active - embedding"));
  visit(p.router, Field("router", "Router matrices of all MoE layers"));
  visit(p.experts, Field("experts", "All experts' matrices of all MoE layers"));
}

template <typename Counts, typename Visit>
requires std::same_as<std::remove_const_t<Counts>, FlopCounts>
void visit_fields(Counts& f, Visit&& visit) {
  visit(f.attention_projections, Field("attention_projections", "Forward: q, k, v and output projections"));
  visit(f.attention_scores, Field("attention_scores", "Forward: q k^T and att v"));
  visit(f.ffn, Field("ffn", "Forward: the dense FFN or the active experts"));
  visit(f.routing, Field("routing", "Forward: router logits"));
  visit(f.head, Field("head", "Forward: output head"));
  visit(f.forward, Field("forward", "The forward pass"));
  visit(f.training, Field("training", "Forward + backward"));
}

ParameterCounts count_parameters(const ModelConfig& config);
FlopCounts count_flops(const ModelConfig& config, std::int64_t seq_len);

// Average number of experts one token reaches: top_k (token choice) or capacity_factor * top_k.
double active_experts_per_token(const ModelConfig& config);

}  // namespace lab
