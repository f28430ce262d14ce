#include "results/report_table.h"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "results/result_columns.h"

namespace lab {

bool row_order(const ResultRow& a, const ResultRow& b) {
  auto key = [](const ResultRow& r) {
    return std::tuple(r.task, r.data_label, r.family, r.active_params.value_or(0), r.total_params.value_or(0),
                      r.steps.value_or(0), r.seed.value_or(0), r.run_id);
  };
  return key(a) < key(b);
}

void print_table(const std::vector<ResultRow>& rows) {
  // One line per model and training budget (mean over seeds): the question the lab answers, at a glance.
  struct Point {
    const ResultRow* first;
    std::vector<double> accuracy, eval_loss, first_hop;
    std::map<std::string, double> errors;  // error class -> sum over seeds of its share
  };
  std::vector<std::pair<std::string, Point>> points;
  for (const ResultRow& r : rows) {
    const std::string key = fmt::format("{}|{}|{}|{}|{}", r.data_label, r.family, r.total_params.value_or(0),
                                        r.active_params.value_or(0), r.steps.value_or(0));
    auto it = std::find_if(points.begin(), points.end(), [&](const auto& p) { return p.first == key; });
    if (it == points.end()) {
      points.push_back({key, Point{&r, {}, {}, {}, {}}});
      it = points.end() - 1;
    }
    if (r.accuracy) it->second.accuracy.push_back(*r.accuracy);
    if (r.eval_loss) it->second.eval_loss.push_back(*r.eval_loss);
    if (r.path_first_hop) it->second.first_hop.push_back(*r.path_first_hop);
    for (const ResultColumn& c : result_error_columns()) {
      if (r.*c.value) it->second.errors[c.name + std::strlen("error_")] += *(r.*c.value);
    }
  }
  // The most common error class of a point, with its mean share over seeds.
  auto most_common_error = [](const Point& p) -> std::string {
    auto most = std::max_element(p.errors.begin(), p.errors.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    if (most == p.errors.end() || most->second <= 0) return "-";
    return fmt::format("{} {:.1f}%", most->first,
                       100 * most->second / static_cast<double>(p.accuracy.size()));
  };
  auto mean_of = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  };
  std::cout << fmt::format("{:<42} {:<12} {:>6} {:>7} {:>10} {:>10} {:>6} {:>5} {:>9} {:>20} {:>8}  {}\n",
                           "dataset", "family", "d", "E x k", "params", "active", "steps", "seeds",
                           "eval loss", "accuracy [min, max]", "1st hop", "most common error");
  for (const auto& [key, p] : points) {
    const ResultRow& r = *p.first;
    double mean = 0, lo = 1, hi = 0, loss = 0;
    for (double a : p.accuracy) {
      mean += a / static_cast<double>(p.accuracy.size());
      lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
    for (double l : p.eval_loss) loss += l / static_cast<double>(p.eval_loss.size());
    const std::string moe =
        r.ffn == "moe" ? fmt::format("{:.0f}x{:.0f}", r.experts.value_or(0), r.top_k.value_or(0)) : "-";
    const std::string acc = p.accuracy.empty() ? "n/a"
                            : p.accuracy.size() == 1
                                ? fmt::format("{:.1f}%", 100 * mean)
                                : fmt::format("{:.1f}% [{:.1f}, {:.1f}]", 100 * mean, 100 * lo, 100 * hi);
    std::cout << fmt::format(
        "{:<42} {:<12} {:>6.0f} {:>7} {:>10.0f} {:>10.0f} {:>6.0f} {:>5} {:>9} {:>20} {:>8}  {}\n",
        r.data_label, r.family, r.d_model.value_or(0), moe, r.total_params.value_or(0),
        r.active_params.value_or(0), r.steps.value_or(0), p.accuracy.size(),
        p.eval_loss.empty() ? "n/a" : fmt::format("{:.4f}", loss), acc,
        p.first_hop.empty() ? "-" : fmt::format("{:.1f}%", 100 * mean_of(p.first_hop)), most_common_error(p));
  }
}

}  // namespace lab
