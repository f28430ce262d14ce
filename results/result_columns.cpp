#include "results/result_columns.h"

#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace lab {

const std::vector<ResultColumn>& result_column_table() {
  using R = ResultRow;
  static const std::vector<ResultColumn> c = {
      {"run_id", &R::run_id},
      {"preset", &R::preset},
      {"task", &R::task},
      {"dataset", &R::data_label},
      {"vertices", nullptr, &R::vertices},
      {"family", &R::family},
      {"ffn", &R::ffn},
      {"router", &R::router},
      {"d_model", nullptr, &R::d_model},
      {"layers", nullptr, &R::layers},
      {"heads", nullptr, &R::heads},
      {"d_ff", nullptr, &R::d_ff},
      {"experts", nullptr, &R::experts},
      {"top_k", nullptr, &R::top_k},
      {"expert_width", nullptr, &R::expert_width},
      {"granularity", nullptr, &R::granularity},
      {"seed", nullptr, &R::seed},
      {"steps", nullptr, &R::steps},
      {"tokens", nullptr, &R::tokens},
      {"total_params", nullptr, &R::total_params},
      {"active_params", nullptr, &R::active_params},
      {"non_embedding_params", nullptr, &R::non_embedding_params},
      {"train_flops", nullptr, &R::train_flops},
      {"wall_seconds", nullptr, &R::wall_seconds},
      {"train_loss", nullptr, &R::train_loss},
      {"eval_loss", nullptr, &R::eval_loss},
      {"accuracy", nullptr, &R::accuracy},
      {"recall_exact", nullptr, &R::recall_exact},
      {"recall_per_digit", nullptr, &R::recall_per_digit},
      {"control_exact", nullptr, &R::control_exact},
      {"memorized_entries", nullptr, &R::memorized_entries},
      {"bits_per_param_total", nullptr, &R::bits_per_param_total},
      {"bits_per_param_active", nullptr, &R::bits_per_param_active},
      {"path_valid", nullptr, &R::path_valid},
      {"path_exact", nullptr, &R::path_exact},
      {"path_first_hop", nullptr, &R::path_first_hop},
      {"balanced_accuracy", nullptr, &R::balanced_accuracy},
      {"error_malformed", nullptr, &R::error_malformed},
      {"error_wrong_ends", nullptr, &R::error_wrong_ends},
      {"error_too_short", nullptr, &R::error_too_short},
      {"error_too_long", nullptr, &R::error_too_long},
      {"error_not_a_path", nullptr, &R::error_not_a_path},
      {"error_false_yes", nullptr, &R::error_false_yes},
      {"error_false_no", nullptr, &R::error_false_no},
      {"error_wrong_middle", nullptr, &R::error_wrong_middle},
      {"error_missed_middle", nullptr, &R::error_missed_middle},
      {"error_invented_middle", nullptr, &R::error_invented_middle},
      {"router_imbalance", nullptr, &R::router_imbalance},
      {"router_idle_experts", nullptr, &R::router_idle_experts},
      {"router_entropy", nullptr, &R::router_entropy},
      {"run_dir", &R::run_dir},
  };
  return c;
}

const std::vector<ResultColumn>& result_error_columns() {
  static const std::vector<ResultColumn> c = [] {
    std::vector<ResultColumn> out;
    for (const ResultColumn& column : result_column_table()) {
      if (std::string_view(column.name).starts_with("error_")) out.push_back(column);
    }
    return out;
  }();
  return c;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.6g}", v);
}

const std::vector<std::string>& result_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const ResultColumn& c : result_column_table()) n.push_back(c.name);
    return n;
  }();
  return names;
}

std::string result_value(const ResultRow& row, std::size_t column) {
  const ResultColumn& c = result_column_table().at(column);
  if (c.text) return row.*c.text;
  auto v = row.*c.value;
  return v ? format_number(*v) : "";
}

}  // namespace lab
