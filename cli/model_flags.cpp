#include "cli/model_flags.h"

#include <map>
#include <string>
#include <vector>

#include "cli/validators.h"

namespace lab {

void add_model_flags(CLI::App* app, ModelConfig& c) {
  const std::string group = "Model";
  const std::string moe = "Mixture of Experts (--experts or --granularity makes the FFN an MoE)";
  auto add = [&](const std::string& name, auto& value, const std::string& help, const std::string& in_group) {
    return app->add_option(name, value, help)->capture_default_str()->group(in_group);
  };
  add("--vocab", c.vocab_size, "Tokens in the vocabulary", group)->type_name("N");
  add("--max-seq-len", c.max_seq_len, "Longest sequence (prompt + answer) the model accepts", group)
      ->type_name("N");
  add("--d-model", c.d_model, "Width of the residual stream", group)->type_name("N");
  add("--layers", c.layers, "Transformer blocks", group)->type_name("N");
  add("--heads", c.heads, "Attention heads; must divide --d-model", group)->type_name("N");
  add("--d-ff", c.d_ff, "Dense FFN hidden width; 0 = d_model (the Mixture-of-Parrots setup)", group)
      ->type_name("N");
  add_enum_flag(app, "--norm", c.norm, "Pre-norm kind: layer_norm or rms_norm",
                {{"layer_norm", NormKind::layer_norm}, {"rms_norm", NormKind::rms_norm}})
      ->group(group);
  add_enum_flag(app, "--positions", c.positions, "Position encoding: rope (rotary) or learned (absolute)",
                {{"rope", PositionKind::rope}, {"learned", PositionKind::learned}})
      ->group(group);
  add_enum_flag(app, "--activation", c.activation, "FFN activation: gelu (2 matrices) or swiglu (3 matrices)",
                {{"gelu", ActivationKind::gelu}, {"swiglu", ActivationKind::swiglu}})
      ->group(group);
  add("--init-scale", c.init_scale, "Truncated-normal init: sigma = sqrt(init_scale / fan_in)", group)
      ->type_name("X");

  auto make_moe = [&c](const std::string&) { c.ffn = FfnKind::moe; };
  add("--experts", c.experts, "Experts per MoE layer (0 = dense FFN, unless --granularity is set)", moe)
      ->type_name("N")
      ->each(make_moe);
  add("--top-k", c.top_k, "Experts per token (token choice); with --granularity the base k, times G", moe)
      ->type_name("K");
  add("--expert-width", c.expert_width, "Hidden width of one expert; 0 = d_ff (or d_ff / granularity)", moe)
      ->type_name("N");
  add("--granularity", c.granularity,
      "Fine-grained G: experts = expansion * G of width d_ff / G, top-k = G * --top-k (0 = off)", moe)
      ->type_name("G")
      ->each(make_moe);
  add("--expansion", c.expansion,
      "Fine-grained E: expert parameters / dense FFN parameters (with --granularity)", moe)
      ->type_name("E");
  add_enum_flag(app, "--router", c.router,
                "token_choice (softmax, top-k, renormalised, dropless) or expert_choice (each expert takes "
                "its top tokens per group)",
                {{"token_choice", RouterKind::token_choice}, {"expert_choice", RouterKind::expert_choice}})
      ->group(moe);
  add("--capacity-factor", c.capacity_factor,
      "Expert choice: each expert takes capacity_factor * top_k * group / experts tokens", moe)
      ->type_name("X");
  add("--group-size", c.group_size,
      "Expert choice: tokens per routing group (a batch's last group takes what is left); 0 = the "
      "whole batch",
      moe)
      ->type_name("N");
  add("--load-balance-coef", c.load_balance_coef, "Switch load-balancing loss coefficient", moe)
      ->type_name("X");
  add("--z-loss-coef", c.z_loss_coef, "Router z-loss coefficient", moe)->type_name("X");
  app->add_flag("--moe-output-norm", c.moe_output_norm,
                "Normalise the MoE output (helps for granularity > 1)")
      ->group(moe);
}

}  // namespace lab
