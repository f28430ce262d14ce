#pragma once
// The two-hop width threshold (SCIENCE.md, claim 3; TASKS.md, "two-hop"): Mixture of Parrots proves a
// depth-1 MoE needs width m with m * H = Omega(|V| / log N) to answer length-2 path questions over a
// vertex set V, while a dense model of width about |V| suffices. The report draws held-out accuracy
// against d_model / |V|, one curve per |V| for dense models and one per |V| and expert count for MoE
// models: if width relative to |V| is what matters, the dense curves for different |V| collapse onto
// one, and adding experts at a fixed d does not move an MoE past it.
//
//   plots/width_threshold.{png,svg}   left: dense; right: MoE (mean over seeds, bars: min-max)

#include <filesystem>
#include <string>
#include <vector>

#include "results/report.h"

namespace lab {

// One curve: dense or MoE at one |V| (and expert count), its points in increasing d / |V|.
struct WidthSeries {
  bool moe = false;
  double vertices = 0, experts = 0, top_k = 0;  // experts, top_k: MoE only
  struct Point {
    double d_model, width_ratio;  // d_model / |V|
    double mean, min, max;        // accuracy over seeds, in [0, 1]
    int seeds;
  };
  std::vector<Point> points;
  std::string title() const;  // "|V| = 16" or "|V| = 16, 8 experts top-2"
};

// The two-hop rows (task two-hop, with vertices, d_model and accuracy) grouped into series, ordered by
// dense first, then |V|, then experts. Rows of other tasks are ignored; empty when there is none.
std::vector<WidthSeries> width_threshold_series(const std::vector<ResultRow>& rows);

// plots/width_threshold.{png,svg} in `dir` when `series` is not empty. Notes as for render_plots.
std::vector<std::string> render_width_threshold_plot(const std::filesystem::path& dir,
                                                     const std::vector<WidthSeries>& series);

}  // namespace lab
