#pragma once
// The report's plots, drawn by gnuplot (pngcairo and svg terminals) from data files it is given:
//
//   accuracy_vs_total.{png,svg}    task accuracy (%) against total parameters, log x
//   accuracy_vs_active.{png,svg}   the same against active parameters per token
//   loss_curves.{png,svg}          training loss against tokens seen, one line per run
//
// One panel per dataset, one series per model family (and training budget, if a family has several in
// a panel); each point is one model: the mean over its seeds, with a bar from the lowest to the highest
// seed. Files appear complete or not at all.

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "results/fit.h"
#include "results/granularity.h"
#include "results/report.h"

namespace lab {

// A run in a legend: "family d64 8x2 s0" (experts x top-k for an MoE; the seed).
std::string run_label(const ResultRow& r);

// Writes the plots into `dir` (created). Returns notes for anything not drawn, e.g. gnuplot missing;
// lab::Error only for a directory that cannot be written.
std::vector<std::string> render_plots(const std::filesystem::path& dir, const std::vector<ResultRow>& rows,
                                      const std::vector<RunCurve>& curves);

// granularity_wall_clock.{png,svg}: training tokens/s against G (one series per width and step
// budget), final held-out loss against training FLOPs (one series per G) and, per width, held-out
// loss against training wall time for each G with the target loss of granularity_wall_clock(). Nothing when
// `rows` is empty. Notes as for render_plots.
std::vector<std::string> render_granularity_plots(const std::filesystem::path& dir,
                                                  const std::vector<GranularityRow>& rows,
                                                  const std::vector<RunCurve>& curves);

// The fit's figures in `dir`: fit_<law>_observed.{png,svg} (observed against predicted, log-log, the
// line y = x) and fit_<law>_curves.{png,svg} (the value against N, or x, one series per G, with the
// fitted law drawn through each at the median D of its runs). Notes as for render_plots.
std::vector<std::string> render_fit_plots(const std::filesystem::path& dir, Law law, const FitResult& fit,
                                          const std::vector<FitPoint>& points);

}  // namespace lab
