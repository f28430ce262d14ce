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

#include <cstdint>

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

ParameterCounts count_parameters(const ModelConfig& config);
FlopCounts count_flops(const ModelConfig& config, std::int64_t seq_len);

// Average number of experts one token reaches: top_k (token choice) or capacity_factor * top_k.
double active_experts_per_token(const ModelConfig& config);

}  // namespace lab
