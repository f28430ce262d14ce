#pragma once
// ModelConfig: every hyper-parameter of a decoder-only transformer with dense or Mixture-of-Experts
// FFNs, in one flat, trivially copyable struct. Configuration flows one way: CLI flags or a preset ->
// ModelConfig -> validate() -> the model and the accounting. Nothing here allocates a tensor, so a bad
// config is rejected (lab::Error naming the field) before any memory is touched.
//
// Dense or MoE: `ffn` says which. The MoE sizes come either directly (experts, expert_width, top_k) or
// from the fine-grained shorthand (granularity G > 0 with expansion E): experts = E*G,
// expert_width = d_ff/G, top_k = G*top_k (top_k is then the base k). Read the resolved sizes through
// moe_experts(), moe_expert_width(), moe_top_k(), never the raw fields.

#include <cstdint>
#include <string>
#include <string_view>

namespace lab {

enum class NormKind { layer_norm, rms_norm };
enum class PositionKind { rope, learned };
enum class ActivationKind { gelu, swiglu };
enum class FfnKind { dense, moe };
enum class RouterKind { token_choice, expert_choice };

struct ModelConfig {
  // --- the transformer ---
  int64_t vocab_size = 64;               // tokens in the vocabulary, e.g. 64 for the synthetic tasks
  int64_t max_seq_len = 128;             // longest sequence (prompt + answer) the model accepts
  int64_t d_model = 256;                 // width of the residual stream
  int64_t layers = 4;                    // transformer blocks
  int64_t heads = 4;                     // attention heads; must divide d_model
  int64_t d_ff = 0;                      // dense FFN hidden width; 0 = d_model (Mixture-of-Parrots setup)
  NormKind norm = NormKind::layer_norm;  // pre-norm kind, also the final and MoE output norm
  PositionKind positions = PositionKind::rope;       // rotary (no parameters) or learned absolute
  ActivationKind activation = ActivationKind::gelu;  // GELU (2 matrices) or SwiGLU (3 matrices)
  double init_scale = 0.1;  // truncated-normal init, sigma = sqrt(init_scale / fan_in) (Switch: 0.1)

  // --- the FFN of every block: dense or Mixture-of-Experts ---
  FfnKind ffn = FfnKind::dense;  // dense: every MoE field below is ignored
  int64_t experts = 0;           // experts per MoE layer (0 when granularity > 0 sets it)
  int64_t top_k = 2;             // experts per token (token choice); with granularity, the base k
  int64_t expert_width = 0;      // hidden width of one expert; 0 = d_ff (or d_ff / granularity)
  int64_t granularity = 0;       // fine-grained G > 0: experts = expansion*G, width = d_ff/G, top_k *= G
  int64_t expansion = 0;         // fine-grained E: MoE parameters / dense FFN parameters (with G)
  RouterKind router = RouterKind::token_choice;  // token choice (dropless) or expert choice
  double capacity_factor = 1.0;     // expert choice: each expert takes capacity_factor*top_k*n/experts
  int64_t group_size = 0;           // expert choice: tokens per routing group (last may be shorter); 0 = all
  double load_balance_coef = 0.01;  // Switch load-balancing loss coefficient (token choice)
  double z_loss_coef = 0.001;       // ST-MoE router z-loss coefficient
  bool moe_output_norm = false;     // a norm on the MoE output (Ludziejewski et al.: needed for G > 1)

  // Resolved sizes (apply d_ff = d_model and the fine-grained shorthand).
  int64_t ffn_width() const { return d_ff > 0 ? d_ff : d_model; }
  int64_t moe_experts() const;
  int64_t moe_expert_width() const;
  int64_t moe_top_k() const;
  bool is_moe() const { return ffn == FfnKind::moe; }
  // Expert-choice capacity of one expert in a group of `group_tokens` tokens (at least 1, at most all).
  int64_t expert_capacity(int64_t group_tokens) const;

  // Throws lab::Error naming the first invalid field, e.g.
  // "model config: heads (6) must divide d_model (256)".
  void validate() const;
};

// Names used by the CLI, presets and reports ("layer_norm", "rope", "swiglu", "moe", ...).
std::string_view to_string(NormKind kind);
std::string_view to_string(PositionKind kind);
std::string_view to_string(ActivationKind kind);
std::string_view to_string(FfnKind kind);
std::string_view to_string(RouterKind kind);

}  // namespace lab
