#pragma once
// Figures of how runs learn, from their metrics.jsonl (drawn by gnuplot, files complete or absent):
//
//   accuracy_curves.{png,svg}      the periodic probes' held-out accuracy (or recall) against training
//                                  tokens, one panel per dataset, one line per run (dense in blue,
//                                  MoE in red): how reasoning and memorization are learned over time;
//                                  only runs trained with --probe-every (probe_every in a preset)
//   router/RUN_ID.{png,svg}        an MoE run's routers over training: each expert's share of its layer's
//                                  rows (a heatmap, layer x expert against tokens) and each layer's
//                                  max / mean load; expert collapse shows here, not in the loss

#include <filesystem>
#include <string>
#include <vector>

#include "results/report.h"

namespace lab {

// accuracy_curves, when some run has periodic probes; nothing otherwise. Notes for anything not drawn.
std::vector<std::string> render_accuracy_curves(const std::filesystem::path& dir,
                                                const std::vector<RunCurve>& curves);

struct RouterCurve {
  const ResultRow* row;
  std::vector<RouterPoint> points;
};

// dir/router/RUN_ID for every run with router windows. Notes as for render_accuracy_curves.
std::vector<std::string> render_router_plots(const std::filesystem::path& dir,
                                             const std::vector<RouterCurve>& curves);

}  // namespace lab
