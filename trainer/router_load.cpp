#include "trainer/router_load.h"

#include <algorithm>
#include <numeric>

#include "core/run_files.h"

namespace lab {

std::size_t router_tally_size(const ModelConfig& config) {
  if (!config.is_moe()) return 0;
  return static_cast<std::size_t>(config.layers * (config.moe_experts() + 2));
}

void add_router_tally(std::vector<double>& tally, const TransformerOutput& out, std::int64_t tokens) {
  std::size_t at = 0;
  for (std::size_t layer = 0; layer < out.tokens_per_expert.size(); ++layer) {
    const torch::Tensor counts = out.tokens_per_expert[layer].to(torch::kCPU, torch::kDouble).contiguous();
    const double* count = counts.data_ptr<double>();
    for (std::int64_t e = 0; e < counts.numel(); ++e) tally.at(at++) += count[e];
    tally.at(at++) += out.router_entropy[layer].item<double>() * static_cast<double>(tokens);
    tally.at(at++) += static_cast<double>(tokens);
  }
}

nlohmann::json router_load_json(const std::vector<double>& tally, std::int64_t experts) {
  nlohmann::json layers = nlohmann::json::array();
  const auto stride = static_cast<std::size_t>(experts + 2);
  for (std::size_t begin = 0; experts > 0 && begin + stride <= tally.size(); begin += stride) {
    const auto first = tally.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto last = first + experts;
    const double rows = std::accumulate(first, last, 0.0);
    const double tokens = tally[begin + stride - 1];
    if (rows <= 0 || tokens <= 0) return nlohmann::json::array();  // nothing routed in the window
    std::vector<double> share(first, last);
    for (double& s : share) s /= rows;
    const double mean = rows / static_cast<double>(experts);
    namespace metric = run_files::metrics;
    layers.push_back({{"layer", begin / stride},
                      {metric::kRouterExpertShare, share},
                      {metric::kRouterImbalance, *std::max_element(first, last) / mean},
                      {metric::kRouterIdleExperts, std::count(first, last, 0.0)},
                      {metric::kRouterEntropy, tally[begin + stride - 2] / tokens}});
  }
  return layers;
}

}  // namespace lab
