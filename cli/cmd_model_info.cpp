// `lab model-info [model flags]`: parameter and FLOP accounting of a model config, without building it.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "core/error.h"
#include "core/field_json.h"
#include "models/accounting.h"
#include "models/model_config_json.h"

namespace lab {
namespace {

struct ModelInfoOptions {
  ModelConfig config;
  std::int64_t seq_len = 0;  // 0 = max_seq_len
  bool json = false;
};

void print_text(const ModelConfig& c, const ParameterCounts& p, const FlopCounts& f, std::int64_t seq_len) {
  std::cout << fmt::format(
      "model: {}, d_model {}, layers {}, heads {}, d_ff {}, {}, {}, {}, vocab {}, max_seq_len {}\n",
      to_string(c.ffn), c.d_model, c.layers, c.heads, c.ffn_width(), to_string(c.norm),
      to_string(c.positions), to_string(c.activation), c.vocab_size, c.max_seq_len);
  if (c.is_moe()) {
    std::cout << fmt::format("moe: {} experts of width {}, top-{}, {}{}\n", c.moe_experts(),
                             c.moe_expert_width(), c.moe_top_k(), to_string(c.router),
                             c.moe_output_norm ? ", output norm" : "");
  }
  std::cout << fmt::format(
      "parameters:\n"
      "  total                  {:>14}\n"
      "  embedding              {:>14}\n"
      "  non-embedding          {:>14}\n"
      "  active                 {:>14}\n"
      "  active non-embedding   {:>14}\n"
      "  router                 {:>14}\n"
      "  experts                {:>14}\n",
      p.total, p.embedding, p.non_embedding, p.active, p.active_non_embedding, p.router, p.experts);
  std::cout << fmt::format(
      "forward FLOPs per token (seq_len {}):\n"
      "  attention projections  {:>14.0f}\n"
      "  attention scores       {:>14.0f}\n"
      "  ffn                    {:>14.0f}\n"
      "  routing                {:>14.0f}\n"
      "  head                   {:>14.0f}\n"
      "  forward                {:>14.0f}\n"
      "training FLOPs per token {:>14.0f}\n",
      seq_len, f.attention_projections, f.attention_scores, f.ffn, f.routing, f.head, f.forward, f.training);
}

}  // namespace

Command add_model_info_command(CLI::App& app, const GlobalOptions& global) {
  CLI::App* cmd = app.add_subcommand("model-info",
                                     "Parameter counts (total, active, embedding) and FLOPs per token of a "
                                     "model config, without building it");
  auto options = std::make_shared<ModelInfoOptions>();
  add_model_flags(cmd, options->config);
  cmd->add_option("--seq-len", options->seq_len, "Sequence length for attention FLOPs; 0 = --max-seq-len")
      ->capture_default_str()
      ->option_text("N");
  cmd->add_flag("--json", options->json,
                "Print one JSON object: config (as in a run's config.json, with the resolved sizes), "
                "parameters, flops_per_token");
  return {cmd, [options, &global] {
            (void)global;  // model-info prints its result even with --quiet: the result is the output
            const ModelConfig& c = options->config;
            c.validate();
            if (options->seq_len < 0)
              fail("--seq-len must be positive (or 0 for max_seq_len), got {}", options->seq_len);
            const std::int64_t seq_len = options->seq_len > 0 ? options->seq_len : c.max_seq_len;
            const ParameterCounts p = count_parameters(c);
            const FlopCounts f = count_flops(c, seq_len);
            if (!options->json) {
              print_text(c, p, f, seq_len);
              return;
            }
            nlohmann::json j;
            j["config"] = model_config_to_json(c);
            j["parameters"] = fields_to_json(p);
            j["flops_per_token"] = fields_to_json(f);
            j["flops_per_token"]["seq_len"] = seq_len;
            std::cout << j.dump(2) << '\n';
          }};
}

}  // namespace lab
