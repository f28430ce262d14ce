#include "cli/model_flags.h"

#include "cli/field_flags.h"

namespace lab {

void add_model_flags(CLI::App* app, ModelConfig& c) {
  add_field_flags(app, c, std::string(kModelGroup));
  // --experts or --granularity (> 0) make the FFN an MoE, whatever their order with --ffn.
  app->parse_complete_callback([&c] { infer_ffn_kind(c); });
}

}  // namespace lab
