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

#include "core/fields.h"

namespace lab {

enum class NormKind { layer_norm, rms_norm };
enum class PositionKind { rope, learned };
enum class ActivationKind { gelu, swiglu };
enum class FfnKind { dense, moe };
enum class RouterKind { token_choice, expert_choice };

struct ModelConfig {
  // --- the transformer ---
  std::int64_t vocab_size = 64;          // tokens in the vocabulary, e.g. 64 for the synthetic tasks
  std::int64_t max_seq_len = 128;        // longest sequence (prompt + answer) the model accepts
  std::int64_t d_model = 256;            // width of the residual stream
  std::int64_t layers = 4;               // transformer blocks
  std::int64_t heads = 4;                // attention heads; must divide d_model
  std::int64_t d_ff = 0;                 // dense FFN hidden width; 0 = d_model (Mixture-of-Parrots setup)
  NormKind norm = NormKind::layer_norm;  // pre-norm kind, also the final and MoE output norm
  PositionKind positions = PositionKind::rope;       // rotary (no parameters) or learned absolute
  ActivationKind activation = ActivationKind::gelu;  // GELU (2 matrices) or SwiGLU (3 matrices)
  double init_scale = 0.1;  // truncated-normal init, sigma = sqrt(init_scale / fan_in) (Switch: 0.1)

  // --- the FFN of every block: dense or Mixture-of-Experts ---
  FfnKind ffn = FfnKind::dense;   // dense: every MoE field below is ignored
  std::int64_t experts = 0;       // experts per MoE layer (0 when granularity > 0 sets it)
  std::int64_t top_k = 2;         // experts per token (token choice); with granularity, the base k
  std::int64_t expert_width = 0;  // hidden width of one expert; 0 = d_ff (or d_ff / granularity)
  std::int64_t granularity = 0;   // fine-grained G > 0: experts = expansion*G, width = d_ff/G, top_k *= G
  std::int64_t expansion = 0;     // fine-grained E: MoE parameters / dense FFN parameters (with G)
  RouterKind router = RouterKind::token_choice;  // token choice (dropless) or expert choice
  double capacity_factor = 1.0;     // expert choice: each expert takes capacity_factor*top_k*n/experts
  std::int64_t group_size = 0;      // expert choice: tokens per routing group (last may be shorter); 0 = all
  double load_balance_coef = 0.01;  // Switch load-balancing loss coefficient (token choice)
  double z_loss_coef = 0.001;       // ST-MoE router z-loss coefficient
  bool moe_output_norm = false;     // a norm on the MoE output (Ludziejewski et al.: needed for G > 1)

  // Resolved sizes (apply d_ff = d_model and the fine-grained shorthand).
  std::int64_t ffn_width() const { return d_ff > 0 ? d_ff : d_model; }
  std::int64_t moe_experts() const;
  std::int64_t moe_expert_width() const;
  std::int64_t moe_top_k() const;
  bool is_moe() const { return ffn == FfnKind::moe; }
  // Expert-choice capacity of one expert in a group of `group_tokens` tokens (at least 1, at most all).
  std::int64_t expert_capacity(std::int64_t group_tokens) const;

  // Throws lab::Error naming the first invalid field, e.g.
  // "model config: heads (6) must divide d_model (256)".
  void validate() const;

  bool operator==(const ModelConfig&) const = default;
};

// Names used by the CLI, presets, config.json and reports.
inline constexpr EnumName<NormKind> kNormNames[] = {{"layer_norm", NormKind::layer_norm},
                                                    {"rms_norm", NormKind::rms_norm}};
inline constexpr EnumName<PositionKind> kPositionNames[] = {{"rope", PositionKind::rope},
                                                            {"learned", PositionKind::learned}};
inline constexpr EnumName<ActivationKind> kActivationNames[] = {{"gelu", ActivationKind::gelu},
                                                                {"swiglu", ActivationKind::swiglu}};
inline constexpr EnumName<FfnKind> kFfnNames[] = {{"dense", FfnKind::dense}, {"moe", FfnKind::moe}};
inline constexpr EnumName<RouterKind> kRouterNames[] = {{"token_choice", RouterKind::token_choice},
                                                        {"expert_choice", RouterKind::expert_choice}};
constexpr std::span<const EnumName<NormKind>> enum_names(NormKind) { return kNormNames; }
constexpr std::span<const EnumName<PositionKind>> enum_names(PositionKind) { return kPositionNames; }
constexpr std::span<const EnumName<ActivationKind>> enum_names(ActivationKind) { return kActivationNames; }
constexpr std::span<const EnumName<FfnKind>> enum_names(FfnKind) { return kFfnNames; }
constexpr std::span<const EnumName<RouterKind>> enum_names(RouterKind) { return kRouterNames; }

inline std::string_view to_string(NormKind kind) { return enum_name(kind); }
inline std::string_view to_string(PositionKind kind) { return enum_name(kind); }
inline std::string_view to_string(ActivationKind kind) { return enum_name(kind); }
inline std::string_view to_string(FfnKind kind) { return enum_name(kind); }
inline std::string_view to_string(RouterKind kind) { return enum_name(kind); }

// The CLI help groups of the fields (validate() checks the MoE group's ranges only for an MoE).
inline constexpr std::string_view kModelGroup = "Model";
inline constexpr std::string_view kMoeGroup =
    "Mixture of Experts (--experts or --granularity makes the FFN an MoE)";

// Every field of ModelConfig, once (core/fields.h): its key in config.json and presets, its flag,
// range and help. validate(), JSON in and out, the model flags, the preset keys and `lab model-info`
// all walk this list.
template <typename Config, typename Visit>
requires std::same_as<std::remove_const_t<Config>, ModelConfig>
void visit_fields(Config& c, Visit&& visit) {
  auto size = [](std::string_view name, std::string_view help, std::string_view group) {
    return Field(name, help).group(group).type_name("N").positive();
  };
  auto size_or_zero = [](std::string_view name, std::string_view help, std::string_view group,
                         std::string_view zero) {
    return Field(name, help).group(group).type_name("N").positive_or_zero(zero);
  };
  visit(c.vocab_size,
        size("vocab_size", "Tokens in the vocabulary", kModelGroup).flag("--vocab").not_in_presets());
  visit(c.max_seq_len,
        size("max_seq_len", "Longest sequence (prompt + answer) the model accepts", kModelGroup)
            .not_in_presets());
  visit(c.d_model, size("d_model", "Width of the residual stream", kModelGroup));
  visit(c.layers, size("layers", "Transformer blocks", kModelGroup));
  visit(c.heads, size("heads", "Attention heads; must divide --d-model", kModelGroup));
  visit(c.d_ff, size_or_zero("d_ff", "Dense FFN hidden width; 0 = d_model (the Mixture-of-Parrots setup)",
                             kModelGroup, "d_model"));
  visit(c.norm, Field("norm", "Pre-norm kind: layer_norm or rms_norm").group(kModelGroup));
  visit(c.positions,
        Field("positions", "Position encoding: rope (rotary) or learned (absolute)").group(kModelGroup));
  visit(c.activation,
        Field("activation", "FFN activation: gelu (2 matrices) or swiglu (3 matrices)").group(kModelGroup));
  visit(c.init_scale, Field("init_scale", "Truncated-normal init: sigma = sqrt(init_scale / fan_in)")
                          .group(kModelGroup)
                          .type_name("X")
                          .positive()
                          .at_most(100));
  visit(c.ffn,
        Field("ffn", "dense or moe: an MoE when experts or granularity is set").group(kMoeGroup).json_only());
  visit(c.experts,
        size_or_zero("experts", "Experts per MoE layer (0 = dense FFN, unless --granularity is set)",
                     kMoeGroup, "a dense FFN")
            .at_most(1e6));
  visit(c.top_k,
        size("top_k", "Experts per token (token choice); with --granularity the base k, times G", kMoeGroup)
            .type_name("K"));
  visit(c.expert_width,
        size_or_zero("expert_width", "Hidden width of one expert; 0 = d_ff (or d_ff / granularity)",
                     kMoeGroup, "d_ff"));
  visit(
      c.granularity,
      size_or_zero("granularity",
                   "Fine-grained G: experts = expansion * G of width d_ff / G, top-k = G * --top-k (0 = off)",
                   kMoeGroup, "none")
          .type_name("G")
          .at_most(1e6));
  visit(c.expansion,
        size_or_zero("expansion",
                     "Fine-grained E: expert parameters / dense FFN parameters (with --granularity)",
                     kMoeGroup, "none")
            .type_name("E"));
  visit(c.router, Field("router",
                        "token_choice (softmax, top-k, renormalised, dropless) or expert_choice (each expert "
                        "takes its top tokens per group)")
                      .group(kMoeGroup));
  visit(c.capacity_factor,
        Field("capacity_factor",
              "Expert choice: each expert takes capacity_factor * top_k * group / experts tokens")
            .group(kMoeGroup)
            .type_name("X")
            .positive()
            .at_most(1e6));
  visit(c.group_size,
        size_or_zero("group_size",
                     "Expert choice: tokens per routing group (a batch's last group takes what is left); 0 = "
                     "the whole batch",
                     kMoeGroup, "the batch"));
  visit(c.load_balance_coef, Field("load_balance_coef", "Switch load-balancing loss coefficient")
                                 .group(kMoeGroup)
                                 .type_name("X")
                                 .at_least(0)
                                 .at_most(1e3));
  visit(c.z_loss_coef, Field("z_loss_coef", "Router z-loss coefficient")
                           .group(kMoeGroup)
                           .type_name("X")
                           .at_least(0)
                           .at_most(1e3));
  visit(c.moe_output_norm,
        Field("moe_output_norm", "Normalise the MoE output (helps for granularity > 1)").group(kMoeGroup));
}

// --experts N or --granularity G with N, G > 0 make the FFN an MoE (on the command line and in presets).
inline void infer_ffn_kind(ModelConfig& c) {
  if (c.experts > 0 || c.granularity > 0) c.ffn = FfnKind::moe;
}

}  // namespace lab
